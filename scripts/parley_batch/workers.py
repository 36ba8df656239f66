"""Workers: J-1 processes, each its own Blender (or Python with bpy), animate slices of the files and report
through JSON-lines files the parent polls."""
import json
import subprocess
import sys
import time
from pathlib import Path

from .extension import bpy_module_mode, load_extension
from .plan import partition, remove_outputs, write_json_atomic
from .scene import animate_one

BATCH_SCRIPT = Path(__file__).resolve().parents[1] / "batch.py"  # the entry point workers run


def run_entries(job, entries, report):
    """Animate entries in this process; report(result) after each."""
    kwargs = job["kwargs"]
    for entry in entries:
        result = animate_one(job, entry, kwargs)
        report(result)


def worker_main(job_path):
    """A worker process: open the prepared scene, load the extension, animate its slice."""
    import bpy
    job = json.loads(Path(job_path).read_text())
    results = Path(job["results"])

    def emit(record):
        with open(results, "a") as f:
            f.write(json.dumps(record) + "\n")

    if bpy_module_mode() or Path(bpy.data.filepath or "").resolve() != Path(job["scene"]).resolve():
        bpy.ops.wm.open_mainfile(filepath=job["scene"])
    src = job["extension"]
    load_extension(src.get("path")) if src["kind"] == "path" else load_extension()
    # No thread cap per worker: onnxruntime's results move in the last bits with its thread count, and
    # --jobs must not change results; every worker runs the model as the preferences say.
    emit({"event": "ready", "t": time.time()})
    run_entries(job, job["entries"], lambda r: emit({"event": "result", **r}))
    return 0


def worker_command(job_path, scene):
    import bpy
    if bpy_module_mode():
        return [sys.executable, str(BATCH_SCRIPT), "--worker", str(job_path)]
    return [bpy.app.binary_path, "--background", str(scene), "--python-exit-code", "1",
            "--python", str(BATCH_SCRIPT), "--", "--worker", str(job_path)]


def run_workers(job, entries, jobs, report, timing):
    """J slices: this process animates the first itself, J-1 worker processes (each its own Blender) the
    others, so one Blender start is saved. Workers report through one JSON-lines file each."""
    work = Path(job["work"])
    work.mkdir(parents=True, exist_ok=True)
    slices = partition(entries, jobs)
    procs = []
    for k, chunk in enumerate(slices[1:], start=1):
        results = work / f"worker{k}.jsonl"
        results.write_text("")
        job_path = work / f"worker{k}.json"
        write_json_atomic(job_path, {**job, "entries": chunk, "results": str(results)})
        log = open(work / f"worker{k}.log", "w")
        spawn = time.time()
        proc = subprocess.Popen(worker_command(job_path, job["scene"]), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        procs.append({"proc": proc, "log": log, "results": results, "offset": 0, "chunk": chunk,
                      "done": set(), "spawn": spawn, "ready": None, "k": k})
    try:
        for entry in slices[0]:
            report(animate_one(job, entry, job["kwargs"]))
            poll_workers(job, procs, report, timing)  # the others' progress between our own files
        while procs:
            poll_workers(job, procs, report, timing)
            time.sleep(0.05)
    except BaseException:  # Ctrl-C or a crash here: no orphaned Blenders keep writing into --out
        for w in procs:
            w["proc"].kill()
            w["proc"].wait()
        raise


def poll_workers(job, procs, report, timing):
    """Read what the workers reported since last time; a worker gone early fails its remaining files."""
    for w in list(procs):
        finished = w["proc"].poll() is not None
        with open(w["results"]) as f:
            f.seek(w["offset"])
            text = f.read()
        complete = text[:text.rfind("\n") + 1]
        w["offset"] += len(complete.encode())
        for line in complete.splitlines():
            record = json.loads(line)
            if record.pop("event") == "ready":
                w["ready"] = record["t"]
            else:
                w["done"].add(record["name"])
                report(record)
        if finished:
            w["log"].close()
            code = w["proc"].returncode
            for entry in w["chunk"]:
                if entry["name"] not in w["done"]:
                    remove_outputs(Path(job["out"]), entry["name"], job["mode"])
                    report({"name": entry["name"], "file": entry["file"], "status": "FAILED",
                            "duration": entry.get("duration"),
                            "message": f"worker {w['k']} exited with code {code} first; see {w['log'].name}"})
            timing["workers"].append({"spawn": w["spawn"], "ready": w["ready"], "exit": time.time(),
                                      "files": len(w["chunk"]), "code": code})
            procs.remove(w)

