"""Inside Blender's UI (under Xvfb, ``--enable-event-simulate``): press Generate like the sidebar button
does, then either press Esc while the take runs, or let it finish and press Undo once. HEAD is a FLAME
.ply (the object "head") or a character .glb (its "Wolf3D_Head"; every mesh's state is recorded).
Prints ``RESULT <json>`` with what the head looked like before, during and after; then quits."""
import json
import sys

import bpy

args = sys.argv[sys.argv.index("--") + 1:]
SCENARIO, HEAD, AUDIO = args[0], args[1], args[2]
state = {"phase": "setup", "ticks": 0, "log": {}}


def mesh_state(obj):
    key = obj.data.shape_keys
    return {"keys": len(key.key_blocks) if key else 0,
            "action": bool(key and key.animation_data and key.animation_data.action),
            "modifiers": [m.type for m in obj.modifiers]}


def snapshot():
    obj = bpy.data.objects.get("head") or bpy.data.objects.get("Wolf3D_Head")
    state = mesh_state(obj) if obj else {"keys": 0, "action": False, "modifiers": None}
    state["actions"] = len(bpy.data.actions)
    state["meshes"] = {o.name: mesh_state(o) for o in bpy.data.objects if o.type == "MESH"}
    return state


def areas():
    window = bpy.context.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    return window, area, next(r for r in area.regions if r.type == "UI")


def finish(**extra):
    print("RESULT " + json.dumps({**state["log"], **extra}), flush=True)
    bpy.ops.wm.quit_blender()


def step():
    state["ticks"] += 1
    window, area, sidebar = areas()
    running = [op.bl_idname for op in getattr(window, "modal_operators", [])]
    state["log"]["modal"] = running
    print(f"ui_driver: tick {state['ticks']} {state['phase']} modal={running}", flush=True)
    phase = state["phase"]
    if phase == "setup":
        if HEAD.endswith(".glb"):
            bpy.ops.import_scene.gltf(filepath=HEAD)
            bpy.context.view_layer.objects.active = bpy.data.objects["Wolf3D_Head"]
        else:
            bpy.ops.wm.ply_import(filepath=HEAD, forward_axis="NEGATIVE_Z", up_axis="Y")
            bpy.context.active_object.name = "head"
        scene = bpy.context.scene
        scene.parley.audio_path = AUDIO
        scene.parley.mode = "BOTH"
        scene.parley.add_sound_to_sequencer = False
        bpy.ops.ed.undo_push(message="head imported")
        state["log"]["before"] = snapshot()
        state["phase"] = "invoke"
    elif phase == "invoke":
        with bpy.context.temp_override(window=window, area=area, region=sidebar):
            state["log"]["invoke"] = sorted(bpy.ops.parley.generate("INVOKE_DEFAULT"))
        state["phase"] = "running"
    elif phase == "running":
        state["log"]["seen_running"] = state["log"].get("seen_running", False) or "PARLEY_OT_generate" in running
        if SCENARIO == "cancel" and state["ticks"] >= 4:
            window.event_simulate(type="ESC", value="PRESS")
            state["log"]["esc_sent"] = True
            state["phase"] = "after_cancel"
        elif SCENARIO == "undo" and snapshot()["action"] and not running:
            state["log"]["done"] = snapshot()
            state["phase"] = "undo"
        elif state["ticks"] > 400:
            finish(error="timed out")
            return None
    elif phase == "after_cancel":
        if state["ticks"] > 12:
            finish(after=snapshot())
            return None
    elif phase == "undo":
        with bpy.context.temp_override(window=window, area=area):
            bpy.ops.ed.undo()
        state["phase"] = "after_undo"
    elif phase == "after_undo":
        finish(after=snapshot())
        return None
    return 0.5


def tick():
    # A failing step must end Blender: an exception in a timer leaves the UI open until the test's timeout.
    try:
        return step()
    except Exception as exc:  # report and quit; the test reads the error from RESULT
        finish(error=f"{type(exc).__name__}: {exc}")
        return None


bpy.app.timers.register(tick, first_interval=2.0)
