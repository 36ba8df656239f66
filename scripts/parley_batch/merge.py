"""Merge: run what is not up to date (here and in workers), append every file's part into one .blend in sorted
name order, print the table and write the summary."""
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .plan import MANIFEST, PARTS, PREFIX, WORK, summary_table, write_json_atomic
from .scene import has_rig
from .workers import run_entries, run_workers


@dataclass
class BatchRun:
    """What main planned and prepared: run_and_merge animates, merges and reports from it alone."""
    object_name: str
    mode: str
    seed: int
    jobs: int
    merge: bool                 # False with --no-merge: per-file outputs only
    start_frame: int
    kwargs: dict                # bpy.ops.parley.generate's arguments besides audio_path, mode, seed, start_frame
    settings: dict              # everything a file's key depends on besides its audio
    source: dict                # where the extension came from (load_extension)
    out: Path
    scene_path: Path            # the scene as opened: the merged .blend is named after it
    prepared: Path              # the prepared scene in --out that workers open
    run_id: str
    inputs: list                # (name, path, problem) in name order
    ignored: list               # paths in the folders that are not audio
    rows: dict                  # name -> result, filled as files finish
    todo: list                  # entries to animate
    timing: dict = field(default_factory=dict)

    def job(self):
        """The JSON job every process (this one and the workers) animates from."""
        return {"out": str(self.out), "object": self.object_name, "mode": self.mode, "seed": self.seed,
                "start_frame": self.start_frame, "kwargs": self.kwargs, "scene": str(self.prepared),
                "extension": self.source, "work": str(self.out / WORK / self.run_id)}


def run_and_merge(run):
    """Animate what is not up to date (here and/or in workers), merge, report; -> the exit code."""
    run.timing.update(ready=time.time(), workers=[])
    job = run.job()
    t_anim = time.time()
    animate_all(run, job, progress_reporter(run))
    run.timing["animate_end"] = time.time()
    run.timing["animate_wall"] = run.timing["animate_end"] - t_anim
    final = run.out / f"{run.scene_path.stem}.blend"
    if run.merge:
        merge_parts(run, job, final)
    run.timing["end"] = time.time()
    ordered = [run.rows[name] for name, _, _ in run.inputs]
    for r in ordered:
        r.pop("path", None)
        r.pop("size", None)
        r.pop("listen_audio", None)
        r["file"] = Path(r["file"]).name
    print(summary_table(ordered, run.out))
    failed = any(r["status"] == "FAILED" for r in ordered)
    if not failed:  # worker logs stay when something failed
        remove_work(Path(job["work"]))
    if run.merge:
        write_json_atomic(run.out / MANIFEST, {"settings": run.settings, "files": ordered, "timing": run.timing,
                                               "extension_source": run.source, "blend": final.name,
                                               "ignored": [p.name for p in run.ignored]})
    return 1 if failed else 0


def progress_reporter(run):
    """-> report(result): keeps the result and prints one line per file."""
    counter = [0]

    def report(result):
        counter[0] += 1
        result.pop("key", None)
        run.rows[result["name"]] = result
        tail = f"ok {result['seconds']:.2f} s" if result["status"] == "ok" else f"FAILED: {result.get('message')}"
        print(f"{PREFIX} [{counter[0]}/{len(run.todo)}] {Path(result['file']).name}: {tail}", flush=True)
    return report


def animate_all(run, job, report):
    import bpy
    todo = run.todo
    if run.jobs == 1 or len(todo) <= 1:
        run_entries(job, todo, report)
        return
    if run.mode != "cache" and not has_rig(bpy.data.objects[run.object_name]):
        # no rig operator ran: the first file builds the rig here, and the workers start from it
        run_entries(job, todo[:1], report)
        todo = todo[1:]
        bpy.ops.wm.save_as_mainfile(filepath=str(run.prepared))
    run_workers(job, todo, min(run.jobs, len(todo)), report, run.timing)


def merge_parts(run, job, final):
    import bpy
    obj = bpy.data.objects[run.object_name]
    assemble(job, [r for r in run.rows.values() if r["status"] in ("ok", "up to date")], obj)
    tmp = run.out / f".{run.scene_path.stem}-{run.run_id}.blend.tmp"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True)
    os.replace(tmp, final)


def remove_work(work):
    if not work.is_dir():
        return
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    if not any(work.parent.iterdir()):
        work.parent.rmdir()


def assemble(job, done, obj):
    """Append every part in sorted name order; the first take is assigned so the .blend plays."""
    import bpy
    out = Path(job["out"])
    first = None
    for row in sorted(done, key=lambda r: r["name"]):
        part = out / PARTS / f"{row['name']}.blend"
        with bpy.data.libraries.load(str(part), link=False) as (src, dst):
            dst.actions = list(src.actions)
        for action in dst.actions:
            if action is not None:
                action.use_fake_user = True
                first = first or (action, row)
        if first is None:
            first = (None, row)
    if first is None:
        return
    action, row = first
    key = obj.data.shape_keys
    if key is not None and key.animation_data is not None and key.animation_data.action is not None:
        return  # the head's own animation stays as it was; the takes wait in the file (fake users)
    if action is not None and key is not None:
        key = obj.data.shape_keys
        key.animation_data_create().action = action
        if hasattr(key.animation_data, "action_slot") and key.animation_data.action_slot is None and action.slots:
            key.animation_data.action_slot = action.slots[0]
    settings = json.loads((out / PARTS / f"{row['name']}.json").read_text()).get("modifier")
    if settings:
        mod = obj.modifiers.new("Parley cache", "MESH_CACHE")
        for k, v in settings.items():
            try:
                setattr(mod, k, set(v) if isinstance(v, list) and mod.bl_rna.properties[k].is_enum_flag else v)
            except (AttributeError, TypeError, ValueError):
                pass  # a setting this Blender does not have
        mod.filepath = f"//parley/{row['name']}.pc2"
