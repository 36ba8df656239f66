// SPDX-License-Identifier: GPL-3.0-or-later
//
// Parley speech batch: a Flamenco 3 job type that animates a folder of speech on a farm.
//
// Install: copy this file into the `scripts/` folder next to the flamenco-manager executable and
// restart the Manager; "Parley Speech Batch" then appears in the Flamenco add-on's job types.
// Submit from Blender with the head selected: the add-on lists the audio folder at submission
// (setting `audio_files`), so the folder, the output folder and scripts/batch.py (with the
// scripts/parley_batch/ folder beside it) must be on storage that every worker sees under the same
// path (or under Flamenco's two-way path variables).
// Workers need Blender with the Parley extension installed, or `extension_dir` pointing at a copy.
//
// Tasks: the files are split into chunks of `files_per_task`; each chunk is one Blender task
//   blender -b -y SCENE.blend --python-exit-code 1 --python batch.py -- --object HEAD
//           --audio FILE... --out OUT --mode MODE --seed N [--style NAME=VALUE...] --no-merge
// writing per-file outputs (parley/<name>.pc2, .parley_parts/<name>.*) into the shared OUT.
// A last "merge" task, depending on all chunks, runs the same script over every file: each is up
// to date by then, so it only appends the Actions, in sorted order, into OUT/<scene>.blend and
// writes the summary. Re-queueing a failed chunk redoes only the files without complete outputs.

const AUDIO_EXTENSIONS = [".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"];

// Evaluated by the Flamenco add-on in the submitting Blender (globals: bpy, C, settings).
const LIST_AUDIO = "';'.join(sorted(str(p) for p in __import__('pathlib').Path(bpy.path.abspath("
    + "settings.audio_folder)).iterdir() if p.suffix.lower() in " + JSON.stringify(AUDIO_EXTENSIONS)
    + " and not p.name.startswith('.')))";

const JOB_TYPE = {
    label: "Parley Speech Batch",
    description: "Speech to facial animation with Parley, one Blender task per chunk of audio files",
    settings: [
        { key: "audio_folder", type: "string", subtype: "dir_path", required: true,
          description: "Folder of speech recordings (wav, flac, ogg, mp3)" },
        { key: "audio_files", type: "string", required: true, eval: LIST_AUDIO, visible: false,
          description: "The files to animate, separated by ';' (listed from the folder at submission)" },
        { key: "head_object", type: "string", required: true, eval: "C.active_object.name",
          description: "Name of the head object in the blend file" },
        { key: "output_folder", type: "string", subtype: "dir_path", required: true,
          description: "Where the .blend with one Action per file, the .pc2 caches and the summary go" },
        { key: "mode", type: "string", choices: ["shapekeys", "cache", "both"], default: "shapekeys",
          description: "Shape keys with an Action, a .pc2 mesh cache, or both" },
        { key: "style", type: "string", default: "",
          description: "Style axes as NAME=VALUE separated by spaces, e.g. 'smile=0.3 articulation=0.8'" },
        { key: "seed", type: "int32", default: 0, description: "Seed of the model's noise: same seed, same curves" },
        { key: "files_per_task", type: "int32", default: 20, propargs: { min: 1, max: 1000 },
          description: "Audio files animated by one Blender task (Blender starts once per task)" },
        { key: "batch_script", type: "string", subtype: "file_path", required: true,
          description: "Path of Parley's scripts/batch.py as the workers see it" },
        { key: "extension_dir", type: "string", subtype: "dir_path", default: "",
          description: "Optional: load the Parley extension from this folder instead of the installed one" },
        { key: "blender_cmd", type: "string", default: "{blender}", visible: false },
        { key: "blendfile", type: "string", required: true, visible: false,
          description: "Path of the blend file with the head" },
    ],
};

function compileJob(job) {
    const settings = job.settings;
    const files = splitFiles(settings.audio_files);
    if (files.length == 0) {
        throw "no audio files (" + AUDIO_EXTENSIONS.join(" ") + ") in " + settings.audio_folder;
    }
    const size = Math.max(1, Math.floor(settings.files_per_task || 1));
    const chunkTasks = [];
    for (let start = 0; start < files.length; start += size) {
        const chunk = files.slice(start, start + size);
        const name = "parley-" + pad(start + 1, files.length) + "-" + pad(start + chunk.length, files.length);
        const task = author.Task(name, "blender");
        task.addCommand(blenderCommand(settings, chunk, ["--no-merge"]));
        chunkTasks.push(task);
        job.addTask(task);
    }
    // Everything is up to date by the time this runs: it only merges, in sorted order.
    const merge = author.Task("parley-merge", "blender");
    merge.addCommand(blenderCommand(settings, files, []));
    for (const task of chunkTasks) {
        merge.addDependency(task);
    }
    job.addTask(merge);
}

function blenderCommand(settings, files, extra) {
    let args = ["--python-exit-code", "1", "--python", settings.batch_script, "--",
                "--object", settings.head_object, "--audio"].concat(files);
    args = args.concat(["--out", settings.output_folder, "--mode", settings.mode || "shapekeys",
                        "--seed", String(settings.seed || 0)]);
    const style = (settings.style || "").split(/\s+/).filter((s) => s.length > 0);
    if (style.length > 0) {
        args = args.concat(["--style"], style);
    }
    if (settings.extension_dir) {
        args = args.concat(["--extension", settings.extension_dir]);
    }
    return author.Command("blender-render", {
        exe: settings.blender_cmd || "{blender}",
        exeArgs: "{blenderArgs}",
        argsBefore: ["--background"],
        blendfile: settings.blendfile,
        args: args.concat(extra),
    });
}

// Sorted, unique, non-empty paths from the ';'-separated list.
function splitFiles(text) {
    const seen = {};
    const files = [];
    for (const part of String(text || "").split(";")) {
        const file = part.trim();
        if (file.length > 0 && !seen[file]) {
            seen[file] = true;
            files.push(file);
        }
    }
    return files.sort();
}

function pad(n, total) {
    let s = String(n);
    while (s.length < String(total).length) {
        s = "0" + s;
    }
    return s;
}
