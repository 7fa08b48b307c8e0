#!/usr/bin/env python3
"""Run the steps of action.yml on this machine, as a GitHub runner would.

  action_steps.py ACTION_YML RUNNER_TEMP SUMMARY_FILE KEY=VALUE...

Each `run:` step runs with bash in its working-directory, with its env, the
${{ inputs.* }}, ${{ runner.temp }} and ${{ steps.ID.outputs.* }} it names
substituted (the inputs: action.yml's defaults, overridden by KEY=VALUE),
GITHUB_ACTION_PATH at the action's directory, GITHUB_STEP_SUMMARY at
SUMMARY_FILE and a fresh GITHUB_OUTPUT per step.  A `uses:` step is not
run (no network): whether its `with:` path exists is printed.  Like a runner, a failed
step skips the steps after it that are not `if: always()...`.  Prints one
line per step, "step NAME: exit N", and exits with the first failure's code.
"""
import os
import re
import subprocess
import sys

import yaml

action_file, temp, summary = sys.argv[1], sys.argv[2], sys.argv[3]
given = dict(a.split("=", 1) for a in sys.argv[4:])
action = yaml.safe_load(open(action_file))
action_path = os.path.dirname(os.path.abspath(action_file))
inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
for k in given:
    if k not in inputs:
        sys.exit(f"action_steps: '{k}' is not an input of the action")
inputs.update(given)
outputs = {}


def read_outputs(path):
    """GITHUB_OUTPUT as the runner reads it: NAME=VALUE lines, and
    NAME<<DELIMITER blocks whose value is every line up to DELIMITER;
    a later NAME wins.  Any bytes: an undecodable one is replaced."""
    lines = open(path, "rb").read().decode("utf-8", "replace").split("\n")
    got, i = {}, 0
    while i < len(lines):
        line = lines[i]
        i += 1
        eq, hd = line.find("="), line.find("<<")
        if eq >= 0 and (hd < 0 or eq < hd):
            got[line[:eq]] = line[eq + 1:]
        elif hd >= 0:
            delim, value = line[hd + 2:], []
            while i < len(lines) and lines[i] != delim:
                value.append(lines[i])
                i += 1
            if i == len(lines):
                raise SystemExit(f"GITHUB_OUTPUT: no end to {line!r}")
            i += 1
            got[line[:hd]] = "\n".join(value)
    return got


def expand(text):
    def one(m):
        expr = m.group(1).strip()
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs."):]]
        if expr == "runner.temp":
            return temp
        m2 = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if m2:
            return outputs.get(m2.group(1), {}).get(m2.group(2), "")
        sys.exit(f"action_steps: cannot evaluate ${{{{ {expr} }}}}")
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


first_failure = 0
for st in action["runs"]["steps"]:
    name = st.get("name", st.get("id", "?"))
    cond = str(st.get("if", ""))
    if first_failure and "always()" not in cond:
        print(f"step {name}: skipped")
        continue
    if "uses" in st:
        for k, v in (st.get("with") or {}).items():
            if k in ("path", "report_paths"):
                p = expand(v)
                ok = os.path.exists(p)
                # Both actions only warn about a missing path by default.
                print(f"step {name}: {st['uses']} {k}={p} {'exists' if ok else 'missing (a warning)'}")
        continue
    out_file = os.path.join(temp, f"output-{st.get('id', 'x')}")
    open(out_file, "w").close()
    env = dict(os.environ)
    env.update({k: expand(v) for k, v in (st.get("env") or {}).items()})
    env.update(GITHUB_ACTION_PATH=action_path, GITHUB_STEP_SUMMARY=summary, GITHUB_OUTPUT=out_file)
    assert st.get("shell") == "bash", f"{name}: a composite run step needs shell: bash"
    cwd = expand(st.get("working-directory", "."))
    rc = subprocess.call(["bash", "-e", "-c", expand(st["run"])], cwd=cwd, env=env)
    print(f"step {name}: exit {rc}", flush=True)
    if "id" in st:
        outputs[st["id"]] = read_outputs(out_file)
        for k, v in outputs[st["id"]].items():
            print(f"output {st['id']}.{k}={v!r}", flush=True)
    if rc and not first_failure:
        first_failure = rc
sys.exit(first_failure)
