"""Fail when a locked dependency declares a rust-version newer than ours.

Only one toolchain can be installed here, so the MSRV cannot be built directly; this check,
plus clippy's `incompatible_msrv` lint on our own code, is what keeps `rust-version` honest.
Reads `cargo metadata --format-version 1` on stdin.
"""
import json
import re
import sys


def key(version):
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


meta = json.load(sys.stdin)
ours = next(p for p in meta["packages"] if p["name"] == "autopilot-resource-account")["rust_version"]
newer = [
    "{name} {version} needs rust {rust_version}".format(**p)
    for p in meta["packages"]
    if p.get("rust_version") and key(p["rust_version"]) > key(ours)
]
print(f"rust-version {ours}: {len(meta['packages'])} locked packages checked, {len(newer)} newer")
sys.exit("\n".join(newer) if newer else 0)
