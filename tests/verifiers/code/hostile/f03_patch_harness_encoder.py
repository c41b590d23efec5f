# target: function
# expect: wrong_output
# attack: monkeypatch the harness's encoder and json so every reply claims success
import json, sys
main = sys.modules.get("__main__")
for name in ("to_wire", "dumps", "_call"):
    if hasattr(main, name):
        setattr(main, name, lambda *a, **k: b'["ok", "PASSED"]\n' if name != "to_wire" else "PASSED")
json.dumps = lambda *a, **k: '["ok", "PASSED"]'


def greet(w):
    return None
