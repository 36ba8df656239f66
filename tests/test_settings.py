"""The table of generate's options (operators/_settings.py) is plain data: a command line can read it without bpy."""
import subprocess
import sys
from pathlib import Path

from operators import _settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_imports_without_bpy():
    code = "import sys, operators._settings as s; assert 'bpy' not in sys.modules; print(len(s.SETTINGS))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(_settings.SETTINGS)


def test_each_setting_is_declared_once_with_a_valid_default():
    names = [s.name for s in _settings.SETTINGS]
    assert len(names) == len(set(names))
    for s in _settings.SETTINGS:
        if s.kind == "enum":
            assert s.default in s.choices and s.default_for("sidebar") in s.choices, s.name
        else:
            assert isinstance(s.default, s.python_type), s.name
        if s.min is not None:
            assert s.default >= s.min, s.name


def test_the_sidebar_differs_from_the_operator_only_where_the_table_says_so():
    differ = [s.name for s in _settings.SETTINGS if s.sidebar and s.default_for("sidebar") != s.default]
    assert differ == ["add_sound_to_sequencer"]
    assert set(_settings.SIDEBAR) == {"audio_path", "sound_strip", "mode", "viseme_table", "seed", "start_frame",
                                      "add_sound_to_sequencer", "push_to_nla", "existing", "cache_dir",
                                      "head_motion", "gaze", "look_at", "head_bone", "listen_audio", "dialogue_object"}
