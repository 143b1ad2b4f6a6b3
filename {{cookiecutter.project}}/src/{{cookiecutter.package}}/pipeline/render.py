"""Render a SageMaker Pipelines definition for review: its steps, edges, a Mermaid graph and a diff.

Pure functions over the JSON that `Pipeline.definition()` returns; nothing here calls AWS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

Edge = tuple[str, str, str]

BRANCHES = {"IfSteps": "if", "ElseSteps": "else"}
# Keys that name the items of a list in a definition (inputs, outputs, channels, property files):
# diffing such lists by name keeps one inserted input from showing as every later input changed.
NAME_KEYS = ("Name", "InputName", "OutputName", "ChannelName", "PropertyFileName")
# The SDK uploads step code to s3://<bucket>/<pipeline>/code/<sha256 of the code>/<file>.
CODE_HASH = re.compile(r"[0-9a-f]{20,}")  # content hashes in S3 keys (bundle.py, offline.py)
MAX_VALUE = 80
MISSING = object()


def steps(definition: dict) -> list[dict]:
    """Every step, condition branches included, each condition followed by its IfSteps then ElseSteps."""
    found: list[dict] = []

    def visit(items: list[dict]) -> None:
        for step in items:
            found.append(step)
            if step.get("Type") == "Condition":
                for key in BRANCHES:
                    visit(step.get("Arguments", {}).get(key, []))

    visit(definition.get("Steps", []))
    return found


def edges(definition: dict) -> list[Edge]:
    """(upstream, downstream, kind) with kind "depends", "data", "if" or "else", in step order, deduplicated."""
    all_steps = steps(definition)
    names = [step["Name"] for step in all_steps]
    found: dict[Edge, None] = {}  # an ordered set
    for step in all_steps:
        name = step["Name"]
        for upstream in step.get("DependsOn", []):
            found[(upstream, name, "depends")] = None
        for ref in _step_refs(_own(step)):
            upstream = _referenced_step(ref, names)
            if upstream != name:
                found[(upstream, name, "data")] = None
        if step.get("Type") == "Condition":
            for key, kind in BRANCHES.items():
                for branch in step.get("Arguments", {}).get(key, []):
                    found[(name, branch["Name"], kind)] = None
    return list(found)


def mermaid(definition: dict, *, fenced: bool = False) -> str:
    """A Mermaid flowchart of the pipeline; fenced=True wraps it in a ```mermaid block for Markdown."""
    all_steps = steps(definition)
    all_edges = edges(definition)
    names = [step["Name"] for step in all_steps]
    # A reference to a step the definition lacks still gets a node, so the mistake is visible.
    names += [name for edge in all_edges for name in edge[:2] if name not in names]
    ids = _node_ids(dict.fromkeys(names))
    lines = ["flowchart TD"]
    for step in all_steps:
        label = step["Name"] + "<br/>" + step.get("Type", "?")
        if (step.get("CacheConfig") or {}).get("Enabled") is True:
            label += ", cached"
        node = ids[step["Name"]]
        if step.get("Type") == "Condition":
            lines.append(f"    {node}" + "{" + _quote(label) + "}")
        else:
            lines.append(f"    {node}[{_quote(label)}]")
    for name in names[len(all_steps) :]:
        lines.append(f"    {ids[name]}[{_quote(name + '<br/>not in the definition')}]")
    # One arrow per pair: a branch beats a data reference, which beats a bare DependsOn.
    pairs: dict[tuple[str, str], set[str]] = {}
    for upstream, downstream, kind in all_edges:
        pairs.setdefault((upstream, downstream), set()).add(kind)
    for (upstream, downstream), kinds in pairs.items():
        if "if" in kinds:
            arrow = "-->|if true|"
        elif "else" in kinds:
            arrow = "-->|else|"
        elif "data" in kinds:
            arrow = "-->"
        else:
            arrow = "-.->"
        lines.append(f"    {ids[upstream]} {arrow} {ids[downstream]}")
    failing = [ids[step["Name"]] for step in all_steps if step.get("Type") == "Fail"]
    if failing:
        lines.append("    classDef fail fill:#fde2e2,stroke:#c62828,color:#b71c1c")
        lines.append(f"    class {','.join(failing)} fail")
    text = "\n".join(lines)
    return f"```mermaid\n{text}\n```" if fenced else text


def diff(base: dict, head: dict) -> list[str]:
    """Review-friendly changes from base to head: "+ ..." added, "- ..." removed, "~ ..." changed."""
    lines = _parameter_changes(base.get("Parameters", []), head.get("Parameters", []))
    old_steps = {step["Name"]: step for step in steps(base)}
    new_steps = {step["Name"]: step for step in steps(head)}
    lines += [f"- step {name} ({step.get('Type')})" for name, step in old_steps.items() if name not in new_steps]
    lines += [f"+ step {name} ({step.get('Type')})" for name, step in new_steps.items() if name not in old_steps]
    old_upstream, new_upstream = _upstream(base), _upstream(head)
    for name, new in new_steps.items():
        if name in old_steps:
            old = old_steps[name]
            changes = _dependency_changes(old_upstream.get(name, {}), new_upstream.get(name, {}))
            if _cache(old) != _cache(new):
                changes.append(f"cache {_cache(old)} -> {_cache(new)}")
            old_retry, new_retry = old.get("RetryPolicies") or [], new.get("RetryPolicies") or []
            if old_retry != new_retry:
                changes.append(f"retry policies {_show(old_retry or MISSING)} -> {_show(new_retry or MISSING)}")
            changes += _value_changes(_compared(old), _compared(new), "")
            lines += [f"~ step {name}: {change}" for change in changes]
    # Anything else at the top level (Version, PipelineExperimentConfig, ...).
    others = [key for key in dict.fromkeys([*base, *head]) if key not in ("Parameters", "Steps")]
    old_rest = {key: base[key] for key in others if key in base}
    new_rest = {key: head[key] for key in others if key in head}
    lines += [f"~ pipeline: {change}" for change in _value_changes(old_rest, new_rest, "")]
    return lines


def format_diff(lines: list[str]) -> str:
    """Markdown for a job summary: a header with counts, then one bullet per change."""
    if not lines:
        return "No changes to the pipeline definition."
    added = sum(line.startswith("+") for line in lines)
    removed = sum(line.startswith("-") for line in lines)
    changed = len(lines) - added - removed
    noun = "change" if len(lines) == 1 else "changes"
    header = f"**Pipeline definition: {len(lines)} {noun}** ({added} added, {removed} removed, {changed} changed)"
    # Code spans keep S3 paths, quotes and underscores from being read as Markdown.
    bullets = [f"- `{line}`" if "`" not in line else f"- `` {line} ``" for line in lines]
    return "\n".join([header, "", *bullets])


def _parameter_changes(old: list[dict], new: list[dict]) -> list[str]:
    old_params = {param["Name"]: param for param in old}
    new_params = {param["Name"]: param for param in new}
    lines = [f"- parameter {name}" for name in old_params if name not in new_params]
    for name, param in new_params.items():
        if name not in old_params:
            default = _show(param.get("DefaultValue", MISSING))
            lines.append(f"+ parameter {name}: {param.get('Type')}, default {default}")
    for name, param in new_params.items():
        before = old_params.get(name)
        if before is None:
            continue
        if before.get("Type") != param.get("Type"):
            lines.append(f"~ parameter {name}: type {before.get('Type')} -> {param.get('Type')}")
        old_default, new_default = before.get("DefaultValue", MISSING), param.get("DefaultValue", MISSING)
        if old_default != new_default:
            lines.append(f"~ parameter {name}: default {_show(old_default)} -> {_show(new_default)}")
    return lines


def _own(step: dict) -> dict:
    """The step without its condition branches: branch steps are walked and compared as steps of their own."""
    if step.get("Type") != "Condition":
        return step
    arguments = {key: value for key, value in step.get("Arguments", {}).items() if key not in BRANCHES}
    return {**step, "Arguments": arguments}


def _step_refs(value: Any) -> Iterator[str]:
    """Every "Steps.<name>.<property>" string under a Get, however deeply nested (Std:Join, Std:JsonGet, ...)."""
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            yield get
        for item in value.values():
            yield from _step_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _step_refs(item)


def _referenced_step(ref: str, names: list[str]) -> str:
    rest = ref.removeprefix("Steps.")
    # Step names may contain dots, so match known names (longest first) before splitting at a dot.
    known = [name for name in names if rest == name or rest.startswith(name + ".")]
    return max(known, key=len) if known else rest.split(".")[0]


def _node_ids(names: dict[str, None]) -> dict[str, str]:
    """Mermaid ids: letters, digits and underscores only, prefixed so no id is a keyword such as "end"."""
    ids: dict[str, str] = {}
    for name in names:
        base = "step_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        node, n = base, 1
        while node in ids.values():  # "a-b" and "a.b" must stay two nodes
            n += 1
            node = f"{base}_{n}"
        ids[name] = node
    return ids


def _quote(label: str) -> str:
    # Inside a quoted Mermaid label only the quote and angle brackets need escaping; <br/> is kept as a line break.
    escaped = label.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return '"' + escaped.replace("#lt;br/#gt;", "<br/>") + '"'


def _upstream(definition: dict) -> dict[str, dict[tuple[str, str], None]]:
    """Downstream step name -> its ordered (upstream, kind) pairs."""
    found: dict[str, dict[tuple[str, str], None]] = {}
    for upstream, downstream, kind in edges(definition):
        found.setdefault(downstream, {})[(upstream, kind)] = None
    return found


def _dependency_changes(old: dict[tuple[str, str], None], new: dict[tuple[str, str], None]) -> list[str]:
    wording = {"depends": "DependsOn", "data": "data", "if": "if branch", "else": "else branch"}
    removed = [f"dependency on {up} removed ({wording[kind]})" for up, kind in old if (up, kind) not in new]
    added = [f"dependency on {up} added ({wording[kind]})" for up, kind in new if (up, kind) not in old]
    return removed + added


def _cache(step: dict) -> str:
    config = step.get("CacheConfig") or {}
    if config.get("Enabled") is not True:
        return "off"
    return f"on ({config['ExpireAfter']})" if config.get("ExpireAfter") else "on"


def _compared(step: dict) -> dict:
    """The parts of a step compared as JSON; name, dependencies, cache and retries are reported on their own."""
    return {
        key: value
        for key, value in _own(step).items()
        if key not in ("Name", "DependsOn", "CacheConfig", "RetryPolicies")
    }


def _value_changes(old: Any, new: Any, path: str) -> list[str]:
    """One "<json path>: old -> new" per changed leaf, or per subtree that changed type or appeared."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in dict.fromkeys([*old, *new]):
            changes += _value_changes(old.get(key, MISSING), new.get(key, MISSING), f"{path}.{key}" if path else key)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        name_key = _name_key(old, new)
        if name_key:
            old_items = {item[name_key]: item for item in old}
            new_items = {item[name_key]: item for item in new}
            changes = []
            for name in dict.fromkeys([*old_items, *new_items]):
                item_path = f"{path}['{name}']"
                changes += _value_changes(old_items.get(name, MISSING), new_items.get(name, MISSING), item_path)
            return changes
        changes = []
        for i in range(max(len(old), len(new))):
            old_item = old[i] if i < len(old) else MISSING
            new_item = new[i] if i < len(new) else MISSING
            changes += _value_changes(old_item, new_item, f"{path}[{i}]")
        return changes
    if isinstance(old, str) and isinstance(new, str) and _only_code_hash_changed(old, new):
        return [f"{path}: code changed ({_file_name(new)})"]
    return [f"{path}: {_show(old)} -> {_show(new)}"]


def _name_key(old: list, new: list) -> str | None:
    """The key that names every item of both lists uniquely, if there is one."""
    for key in NAME_KEYS:
        if all(
            all(isinstance(item, dict) and isinstance(item.get(key), str) for item in items)
            and len({item[key] for item in items}) == len(items)
            for items in (old, new)
        ):
            return key
    return None


def _file_name(uri: str) -> str:
    # Hyperparameters hold JSON-encoded strings, so a URI there arrives in quotes. A folder named by
    # its hash (the code bundle's, the wheels') goes by the name of the folder holding it.
    return next(part for part in reversed(uri.strip('"').split("/")) if not CODE_HASH.fullmatch(part))


def _only_code_hash_changed(old: str, new: str) -> bool:
    # A new hash in the code URI means the step's code changed; the URI itself tells a reviewer nothing.
    return "s3://" in old and "s3://" in new and CODE_HASH.sub("#", old) == CODE_HASH.sub("#", new)


def _show(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."
