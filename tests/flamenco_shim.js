// Runs a Flamenco 3 job compiler script the way the Manager does (a bare JavaScript VM whose
// globals are `author`, `print` and the script's own), compiles one job and prints JSON:
//   node tests/flamenco_shim.js JOB_TYPE.js < {"settings": {...}}  ->  {"job_type": ..., "tasks": [...]}
// Only the parts of Flamenco's API that job types use are imitated: author.Task(name, type) with
// addCommand/addDependency, author.Command(name, parameters), job.settings/addTask, print.
"use strict";
const fs = require("fs");
const vm = require("vm");

const source = fs.readFileSync(process.argv[2], "utf8");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const logs = [];
const sandbox = {
    print: (...args) => logs.push(args.map(String).join(" ")),
    author: {
        Task: (name, type) => ({
            name, type, commands: [], dependencies: [],
            addCommand(command) { this.commands.push(command); },
            addDependency(task) { this.dependencies.push(task.name); },
        }),
        Command: (name, parameters) => ({ name, parameters }),
    },
};
vm.createContext(sandbox);
vm.runInContext(source + "\n;globalThis.__jobType = JOB_TYPE; globalThis.__compile = compileJob;", sandbox,
                { filename: process.argv[2] });
const tasks = [];
const job = { name: "test job", created: new Date(0), settings: input.settings, addTask: (t) => tasks.push(t) };
let error = null;
try {
    sandbox.__compile(job);
} catch (e) {
    error = String(e);
}
process.stdout.write(JSON.stringify({ job_type: sandbox.__jobType, tasks, logs, error }));
