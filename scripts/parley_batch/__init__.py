"""scripts/batch.py's code, in the order a batch runs: plan (no bpy), extension, scene, workers, merge, cli."""
