"""Read an ONNX model's ``metadata_props`` without onnxruntime, so registration stays light.

Style sliders are operator properties, and properties must exist when classes register; the axes
come from the model's metadata (DESIGN.md). Opening an onnxruntime session at Blender start-up just
to read them would cost time and memory, so this walks the top level of the ModelProto protobuf
(field 14 = repeated StringStringEntryProto {1: key, 2: value}) and seeks past everything else.
"""
import json
import os

from ..inference.style import StyleAxis

_METADATA_FIELD = 14


def _varint(handle):
    shift = result = 0
    while True:
        byte = handle.read(1)
        if not byte:
            raise EOFError
        result |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return result
        shift += 7


def _entry(blob):
    """Parse one StringStringEntryProto -> (key, value)."""
    import io
    handle, out = io.BytesIO(blob), {}
    while handle.tell() < len(blob):
        tag = _varint(handle)
        field, wire = tag >> 3, tag & 7
        if wire != 2:
            raise ValueError("unexpected wire type in a metadata entry")
        out[field] = handle.read(_varint(handle)).decode("utf-8")
    return out.get(1, ""), out.get(2, "")


def read_metadata(path):
    """{key: value} of an .onnx file's metadata_props; raises ValueError when it is not a readable model."""
    props = {}
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        while handle.tell() < size:
            try:
                tag = _varint(handle)
            except EOFError:
                break
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                _varint(handle)
            elif wire == 1:
                handle.seek(8, 1)
            elif wire == 5:
                handle.seek(4, 1)
            elif wire == 2:
                length = _varint(handle)
                if handle.tell() + length > size:
                    raise ValueError("truncated protobuf field")
                if field == _METADATA_FIELD:
                    key, value = _entry(handle.read(length))
                    props[key] = value
                else:
                    handle.seek(length, 1)
            else:
                raise ValueError(f"unexpected protobuf wire type {wire}")
    if not props:
        raise ValueError("no metadata")
    return props


def trained_languages(props):
    """Sorted ISO codes of the ``languages`` entry ({code: hours}) of a model's metadata; [] when it has none
    (models up to 3.1 were trained on English speech only and do not say so) or it is unreadable."""
    try:
        hours = json.loads(props["languages"])
        return sorted(str(code) for code in hours) if isinstance(hours, dict) else []
    except (KeyError, ValueError, TypeError):
        return []


def style_layout(path):
    """(list of StyleAxis, latent_dim, languages, problem) from a Parley model file, in one read of its metadata;
    ([], 0, [], reason) when unreadable. ``languages``: ``trained_languages``."""
    try:
        props = read_metadata(os.fspath(path))
        axes = [StyleAxis.from_dict(d) for d in json.loads(props["style_axes"])]
        return axes, int(props.get("latent_dim", 0)), trained_languages(props), ""
    except FileNotFoundError:
        return [], 0, [], f"motion model not found: {path}"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [], 0, [], f"cannot read the motion model {path} ({exc})"
