#!/usr/bin/env python3
"""Report import circles between the source files of each crate.

Two files of one crate are in a circle when each of them, directly or through
other files of the crate, takes names from the other. Such circles are what
let a module tree sag into one big knot: none of the files can be understood,
tested or moved without the others. This script finds them so they stay gone.

Usage (from anywhere; Python 3 standard library only):

    scripts/import-circles.py              # check crates/*/src of this repository
    scripts/import-circles.py REPO_ROOT    # check crates/*/src under REPO_ROOT
    scripts/import-circles.py --self-test  # check the checker on a tiny made-up tree

It prints every strongly connected component of more than one file, with the
names that tie each edge, and exits 1 if there is any; otherwise it prints one
summary line (files read, edges, 0 circles) and exits 0.

What counts as "takes names from":
  * `use` and `pub use` trees, grouped and nested ones included
    (`use crate::{a::X, b::{Y, Z}}`), starting with `crate::`, `super::`,
    `self::`, a child module of the current module, or a name that an earlier
    `use` of the same file bound to a module;
  * paths written inline in code (`crate::a::b::f(..)`, `super::x::Y`, and
    `child::f(..)` / `alias::f(..)` as above).
A path resolves to the deepest module FILE that exists (so `crate::a::b::Item`
is `a/b.rs` if that exists, else `a.rs` or `a/mod.rs`); an inline `mod x { }`
block belongs to the file it is written in. A parent taking names from a child
file while the child takes names from the parent is a circle like any other;
a `mod child;` declaration alone is not an edge.

Re-exports: a name taken through a file that only hands it on (`pub use
a::Item` in lib.rs or a mod.rs) ties the taker both to that file and to the
file that defines the name. The `pub use` line itself ties its own file to
nothing unless that file's code also uses the name: a facade that only hands
names on stays out of circles, while a mod.rs with code of its own that is
reached through its re-exports is a room like any other (a circle once hid
there: config/mod.rs -> builtin_policies -> matcher -> filter -> config/mod.rs).

What is ignored: comments, string and char literals, `$crate` in macros,
paths into other crates (`std::`, `netaudit_event::`, ...), and test code:
items under `#[cfg(test)]` (typically `mod tests { .. }`), and files declared
only under `#[cfg(test)]` (such as a `#[cfg(test)] mod freeradius_tests;`).
`#[path = ..]` module declarations are not followed (a warning says so).
Names bound inside macros or by `use` inside function bodies are treated as if
they were file-wide: good enough for finding circles, which is all this does.
"""

import os
import re
import sys
import tempfile

# --------------------------------------------------------------------------
# Lexer: identifiers and the few punctuation tokens paths are made of.
# Comments, literals and numbers are dropped, so a path quoted in a doc
# comment or a string never becomes an edge.

IDENT_START = re.compile(r"[A-Za-z_]")
IDENT = re.compile(r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*")
NUMBER = re.compile(r"[0-9][0-9A-Za-z_]*(?:\.[0-9][0-9A-Za-z_]*)?")
RAW_STRING = re.compile(r'(?:b|c)?r(#*)"')
CHAR_LITERAL = re.compile(r"'(?:\\(?:x[0-9A-Fa-f]{2}|u\{[0-9A-Fa-f_]*\}|.)|[^\\'\n])'", re.S)


class Token:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind = kind  # "ident" or "punct"
        self.text = text
        self.line = line

    def __repr__(self):
        return f"{self.text}@{self.line}"


def lex(src):
    tokens = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            # Block comments nest in Rust.
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    line += src[i] == "\n"
                    i += 1
        elif (m := RAW_STRING.match(src, i)) and (i == 0 or not _ident_char(src[i - 1])):
            end = src.find('"' + m.group(1), m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            line += src.count("\n", i, end)
            i = end
        elif c == '"' or (c in "bc" and src.startswith('"', i + 1) and (i == 0 or not _ident_char(src[i - 1]))):
            j = i + (1 if c == '"' else 2)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            line += src.count("\n", i, j)
            i = j + 1
        elif c == "'" or (c == "b" and src.startswith("'", i + 1) and (i == 0 or not _ident_char(src[i - 1]))):
            start = i + (1 if c == "b" else 0)
            m = CHAR_LITERAL.match(src, start)
            if m:
                i = m.end()
            else:
                # A lifetime or label: drop the quote, the name is harmless.
                i = start + 1
        elif IDENT_START.match(c):
            m = IDENT.match(src, i)
            text = m.group(0)
            tokens.append(Token("ident", text[2:] if text.startswith("r#") else text, line))
            i = m.end()
        elif c.isdigit():
            i = NUMBER.match(src, i).end()
        elif src.startswith("::", i):
            tokens.append(Token("punct", "::", line))
            i += 2
        else:
            tokens.append(Token("punct", c, line))
            i += 1
    return tokens


def _ident_char(c):
    return c.isalnum() or c == "_"


# --------------------------------------------------------------------------
# Parser: per file, the `mod` declarations, the inline modules, the `use`
# trees and the inline paths, each with the module scope it appears in.

KEYWORDS_BEFORE_NON_PATH = {"in"}  # `pub(in crate::a)` is a visibility, not a use


class FileFacts:
    def __init__(self):
        self.mod_decls = []  # (scope, name, test_only, has_path_attr)
        self.inline_mods = []  # scope tuples of inline `mod x { }` blocks
        self.uses = []  # (scope, segments, binding or None, line, re-export)
        self.paths = []  # (scope, segments, line)
        self.code_idents = set()  # identifiers written outside `use` items


def _skip_balanced(toks, i):
    """toks[i] is an opening bracket: return the index after its partner."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = [pairs[toks[i].text]]
    i += 1
    while i < len(toks) and stack:
        t = toks[i].text
        if toks[i].kind == "punct":
            if t in pairs:
                stack.append(pairs[t])
            elif t == stack[-1]:
                stack.pop()
        i += 1
    return i


def _skip_item(toks, i):
    """Skip one item or statement starting at toks[i] (after its attributes):
    up to a `;` outside brackets, or through the first `{ .. }` block."""
    n = len(toks)
    while i < n:
        t = toks[i]
        if t.kind == "punct":
            if t.text == ";":
                return i + 1
            if t.text == "{":
                j = _skip_balanced(toks, i)
                # `struct S { .. }` ends here, and so does `fn f() { .. }`;
                # a trailing `;` (as in `let x = S { .. };`) goes with it.
                if j < n and toks[j].text == ";":
                    j += 1
                return j
            if t.text in "([":
                i = _skip_balanced(toks, i)
                continue
            if t.text == "#":
                # Another attribute (e.g. on an inner item): part of this one.
                i += 1
                continue
        i += 1
    return i


def _parse_attribute(toks, i):
    """toks[i] is `#`: return (index after the attribute, is_cfg_test, is_path)."""
    j = i + 1
    if j < len(toks) and toks[j].text == "!":
        j += 1
    if j >= len(toks) or toks[j].text != "[":
        return i + 1, False, False
    end = _skip_balanced(toks, j)
    body = [t.text for t in toks[j + 1:end - 1]]
    is_cfg_test = bool(body) and body[0] == "cfg" and "test" in body and "not" not in body
    is_path = bool(body) and body[0] == "path"
    return end, is_cfg_test, is_path


def _parse_use_tree(toks, i, prefix, out):
    """Parse one use tree at toks[i]; append (segments, binding) to out.
    Return the index after the tree."""
    segs = list(prefix)
    n = len(toks)
    if i < n and toks[i].text == "::":
        # `use ::std::..`: an extern crate path; keep it unresolvable.
        segs.append("::")
        i += 1
    while i < n:
        t = toks[i]
        if t.kind == "ident":
            segs.append(t.text)
            i += 1
            if i < n and toks[i].text == "::":
                i += 1
                continue
            if i + 1 < n and toks[i].text == "as" and toks[i + 1].kind == "ident":
                name = toks[i + 1].text
                i += 2
            else:
                name = segs[-1]
            if segs[-1] == "self":
                # `a::{self}` binds `a` and means the module `a` itself.
                segs.pop()
                if name == "self":
                    name = segs[-1] if segs else None
            out.append((segs, None if name == "_" else name))
            return i
        if t.text == "*":
            out.append((segs, None))
            return i + 1
        if t.text == "{":
            i += 1
            while i < n and toks[i].text != "}":
                if toks[i].text == ",":
                    i += 1
                    continue
                before = i
                i = _parse_use_tree(toks, i, segs, out)
                if i == before:
                    i += 1
            return i + 1
        return i + 1
    return i


def parse_file(src):
    toks = lex(src)
    facts = FileFacts()
    n = len(toks)
    # Scope stack: (inline module name, brace depth its block opened at).
    scope = []
    depth = 0
    pending_test = False
    pending_path = False
    pub_end = -1  # the index just after the last `pub` / `pub(..)`
    in_use = []  # (start, end) token ranges of `use` items
    i = 0

    def current_scope():
        return tuple(name for name, _ in scope)

    while i < n:
        t = toks[i]
        if t.kind == "punct":
            if t.text == "#":
                i, is_test, is_path = _parse_attribute(toks, i)
                pending_test = pending_test or is_test
                pending_path = pending_path or is_path
                continue
            if t.text == "{":
                depth += 1
            elif t.text == "}":
                depth -= 1
                if scope and scope[-1][1] == depth:
                    scope.pop()
            if t.text not in ("(", ")") or not pending_test:
                pass
            i += 1
            if t.text in ";{}":
                pending_test = pending_path = False
            continue

        # An identifier.
        if pending_test and t.text not in ("pub",):
            # Test-only item: `mod x;` is noted (its file is test-only too),
            # anything else is skipped whole.
            j = i
            if toks[j].text == "mod" and j + 2 < n and toks[j + 1].kind == "ident" and toks[j + 2].text == ";":
                facts.mod_decls.append((current_scope(), toks[j + 1].text, True, pending_path))
                i = j + 3
            else:
                i = _skip_item(toks, j)
            pending_test = pending_path = False
            continue
        if t.text == "pub":
            # Visibility, possibly `pub(crate)` / `pub(in path)`: skip it, so
            # that attributes before it still apply to the item after it.
            i += 1
            if i < n and toks[i].text == "(":
                i = _skip_balanced(toks, i)
            pub_end = i
            continue
        if t.text == "mod" and i + 2 < n and toks[i + 1].kind == "ident":
            name = toks[i + 1].text
            if toks[i + 2].text == ";":
                facts.mod_decls.append((current_scope(), name, False, pending_path))
                pending_test = pending_path = False
                i += 3
                continue
            if toks[i + 2].text == "{":
                scope.append((name, depth))
                facts.inline_mods.append(current_scope())
                depth += 1
                pending_test = pending_path = False
                i += 3
                continue
        if t.text == "use" and i + 1 < n and toks[i + 1].text == "$":
            # `use $crate::..` in a macro: expands in the caller, not here.
            i = _skip_item(toks, i)
            continue
        if t.text == "use":
            trees = []
            j = i + 1
            while j < n and toks[j].text != ";":
                before = j
                j = _parse_use_tree(toks, j, [], trees)
                if j == before:
                    j += 1
            reexport = pub_end == i
            for segs, binding in trees:
                facts.uses.append((current_scope(), segs, binding, t.line, reexport))
            in_use.append((i, j))
            pending_test = pending_path = False
            i = j + 1
            continue
        # The start of an inline path `a::b::c`?
        prev = toks[i - 1] if i else None
        if (
            i + 1 < n
            and toks[i + 1].text == "::"
            and not (prev is not None and prev.text in ("::", "$"))
            and not (prev is not None and prev.text in KEYWORDS_BEFORE_NON_PATH)
        ):
            segs = [t.text]
            j = i + 1
            while j + 1 < n and toks[j].text == "::" and toks[j + 1].kind == "ident":
                segs.append(toks[j + 1].text)
                j += 2
            facts.paths.append((current_scope(), segs, t.line))
            i = j
            continue
        i += 1
    inside = set()
    for start, end in in_use:
        inside.update(range(start, end + 1))
    # A `mod x` line names a file, not an item: `pub mod catalog;` beside
    # `pub use catalog::catalog;` does not make the function used here.
    for k, tok in enumerate(toks):
        if tok.text == "mod" and k + 1 < n:
            inside.add(k + 1)
    facts.code_idents = {tok.text for k, tok in enumerate(toks) if tok.kind == "ident" and k not in inside}
    return facts


# --------------------------------------------------------------------------
# Crate model: module trees from the crate roots, files to module paths.


class Tree:
    """One crate target (lib.rs, main.rs or a src/bin file) and its modules."""

    def __init__(self, root_file):
        self.root_file = root_file
        self.modules = {(): root_file}  # module path tuple -> file
        self.inline = {}  # module path tuple of inline mods -> file


def module_dir(path, modpath_is_root):
    base = os.path.basename(path)
    d = os.path.dirname(path)
    if modpath_is_root or base == "mod.rs":
        return d
    return os.path.join(d, base[:-3])


def build_trees(src_dir, facts_of, warn):
    roots = []
    for name in ("lib.rs", "main.rs"):
        p = os.path.join(src_dir, name)
        if os.path.isfile(p):
            roots.append(p)
    bin_dir = os.path.join(src_dir, "bin")
    if os.path.isdir(bin_dir):
        for name in sorted(os.listdir(bin_dir)):
            p = os.path.join(bin_dir, name)
            if name.endswith(".rs"):
                roots.append(p)
            elif os.path.isfile(os.path.join(p, "main.rs")):
                roots.append(os.path.join(p, "main.rs"))
    trees = []
    test_only = set()
    for root in roots:
        tree = Tree(root)
        todo = [((), root, True)]
        while todo:
            modpath, path, is_root = todo.pop()
            facts = facts_of(path)
            if facts is None:
                continue
            for scope in facts.inline_mods:
                tree.inline[modpath + scope] = path
            for scope, name, test, has_path in facts.mod_decls:
                child_path = modpath + scope + (name,)
                d = os.path.join(module_dir(path, is_root), *scope)
                candidates = [os.path.join(d, name + ".rs"), os.path.join(d, name, "mod.rs")]
                found = [c for c in candidates if os.path.isfile(c)]
                if has_path:
                    warn(f"{path}: `#[path]` on `mod {name}` is not followed")
                    continue
                if not found:
                    warn(f"{path}: no file for `mod {name};`")
                    continue
                if test:
                    test_only.add(found[0])
                    continue
                tree.modules[child_path] = found[0]
                todo.append((child_path, found[0], False))
        trees.append(tree)
    return trees, test_only


# --------------------------------------------------------------------------
# Resolution: every use and inline path of a file -> the file it names.


def resolve(tree, file_mod, scope, segs, aliases):
    """Return the absolute module-path segments a path means, or None when it
    leaves the crate (std, another crate, a local item)."""
    if not segs or segs[0] == "::":
        return None
    here = list(file_mod + scope)
    head = segs[0]
    if head == "crate":
        return segs[1:]
    if head in ("self", "super"):
        base = here
        rest = list(segs)
        if rest[0] == "self":
            rest = rest[1:]
        while rest and rest[0] == "super":
            if not base:
                return None
            base = base[:-1]
            rest = rest[1:]
        return base + rest
    # Rust 2018 relative paths: a child module of the current scope...
    if tuple(here + [head]) in tree.modules or tuple(here + [head]) in tree.inline:
        return here + list(segs)
    # ... or a name a `use` of this file bound (None: to another crate).
    if head in aliases:
        target = aliases[head]
        return None if target is None else target + list(segs[1:])
    return None


def file_of(tree, absolute):
    """The deepest module FILE of `tree` that the absolute path reaches, and
    how many segments of the path that module takes."""
    for k in range(len(absolute), -1, -1):
        f = tree.modules.get(tuple(absolute[:k]))
        if f is not None:
            return f, k
    return tree.root_file, 0


def defining_file(tree, absolute, exports):
    """Where the name an absolute path ends in is defined: its deepest module
    file, except that a name the file only re-exports (`pub use a::Item` in
    lib.rs) is followed to the file it comes from. Otherwise every facade
    lib.rs or mod.rs would knot itself to each child that uses a sibling's
    name through it. None: the name comes from another crate."""
    return files_reached(tree, absolute, exports)[-1]


def files_reached(tree, absolute, exports):
    """Every file a path goes through on its way to the name's definition:
    the file it names, then each file a re-export hands it on to. The last is
    the defining file (None: another crate). Taking a name through a module
    file that holds code of its own (a mod.rs with items, not only `mod` and
    `pub use` lines) ties the taker to that file too: such a circle was once
    seen only by reading the facade as a room of its own."""
    reached = []
    for _ in range(16):  # re-exports do not loop in code that compiles
        path, k = file_of(tree, absolute)
        reached.append(path)
        rest = absolute[k:]
        bound = exports.get(path, {})
        if not rest or rest[0] not in bound:
            return reached
        target = bound[rest[0]]
        if target is None:
            reached.append(None)
            return reached
        absolute = target + rest[1:]
    return reached


def crate_edges(crate_dir, warn):
    """Return (files read, {(from, to): set of names}) for one crate."""
    src_dir = os.path.join(crate_dir, "src")
    cache = {}

    def facts_of(path):
        if path not in cache:
            try:
                with open(path, encoding="utf-8") as fh:
                    cache[path] = parse_file(fh.read())
            except OSError as err:
                warn(f"{path}: {err}")
                cache[path] = None
        return cache[path]

    trees, test_only = build_trees(src_dir, facts_of, warn)
    edges = {}
    files = set()
    for tree in trees:
        # Pass 1, per file: what each `use` binds, in order, so a later `use`
        # may go through an earlier one (`use super::metrics; use metrics::X;`).
        aliases_of, exports, targets_of = {}, {}, {}
        for modpath, path in tree.modules.items():
            facts = facts_of(path)
            if facts is None:
                continue
            files.add(path)
            aliases, exported, targets = {}, {}, []
            for scope, segs, binding, line, reexport in facts.uses:
                absolute = resolve(tree, modpath, scope, segs, aliases)
                if binding:
                    aliases[binding] = absolute
                    if not scope:
                        exported[binding] = absolute
                # A `pub use` only hands a name on: it ties this file to the
                # name's file when this file's own code also uses the name.
                if reexport and (binding is None or binding not in facts.code_idents):
                    continue
                if absolute is not None:
                    targets.append(absolute)
            aliases_of[path], exports[path], targets_of[path] = aliases, exported, targets
        # Pass 2: inline paths, then every name to the file defining it.
        for modpath, path in tree.modules.items():
            if path not in targets_of:
                continue
            facts = facts_of(path)
            targets = targets_of[path]
            for scope, segs, line in facts.paths:
                absolute = resolve(tree, modpath, scope, segs, aliases_of[path])
                if absolute is not None:
                    targets.append(absolute)
            for absolute in targets:
                name = "::".join(["crate"] + absolute)
                for target in files_reached(tree, absolute, exports):
                    if target is None or target == path:
                        continue
                    edges.setdefault((path, target), set()).add(name)
    # Files under src/ that no tree reaches are read too, and reported, so a
    # typo in a `mod` line does not hide a file from the check.
    for dirpath, _, names in os.walk(src_dir):
        for name in names:
            p = os.path.join(dirpath, name)
            if name.endswith(".rs") and p not in files and p not in test_only:
                if all(p != t.root_file for t in trees):
                    warn(f"{p}: not part of any module tree (no `mod` declares it)")
    return files, edges


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iterative: the components of more than one node."""
    succ = {v: [] for v in nodes}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
    for v in succ:
        succ[v].sort()
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in sorted(succ):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, k = work.pop()
            if k == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            if k < len(succ[v]):
                work.append((v, k + 1))
                w = succ[v][k]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def shortest_cycles(comp, edges):
    """One shortest cycle through each file of a component (deduplicated):
    the concrete knots to cut, which the edge list alone leaves to the eye."""
    members = set(comp)
    succ = {v: sorted(b for (a, b) in edges if a == v and b in members) for v in comp}
    found = []
    for start in comp:
        prev, queue, k = {start: None}, [start], 0
        end = None
        while k < len(queue) and end is None:
            v = queue[k]
            k += 1
            for w in succ[v]:
                if w == start:
                    end = v
                    break
                if w not in prev:
                    prev[w] = v
                    queue.append(w)
        cycle = []
        while end is not None:
            cycle.append(end)
            end = prev[end]
        cycle.reverse()
        # Rotate to start at the smallest name, so equal cycles compare equal.
        i = cycle.index(min(cycle))
        cycle = cycle[i:] + cycle[:i]
        if cycle and cycle not in found:
            found.append(cycle)
    return sorted(found, key=lambda c: (len(c), c))


def check(repo_root, out=sys.stdout, err=sys.stderr):
    """Check every crates/*/src under repo_root. Return (exit code, circles)
    where circles is a list of lists of paths relative to repo_root."""

    def rel(p):
        return os.path.relpath(p, repo_root)

    def warn(msg):
        print(f"import-circles: warning: {msg}", file=err)

    crates_dir = os.path.join(repo_root, "crates")
    if not os.path.isdir(crates_dir):
        print(f"import-circles: no crates/ under {repo_root}", file=err)
        return 2, []
    total_files = total_edges = 0
    circles = []
    for crate in sorted(os.listdir(crates_dir)):
        crate_dir = os.path.join(crates_dir, crate)
        if not os.path.isdir(os.path.join(crate_dir, "src")):
            continue
        files, edges = crate_edges(crate_dir, warn)
        total_files += len(files)
        total_edges += len(edges)
        for comp in strongly_connected(files, edges):
            members = set(comp)
            circles.append([rel(p) for p in comp])
            print(f"circle {len(circles)}: {len(comp)} files in crates/{crate}", file=out)
            src = os.path.join(crate_dir, "src")
            for cycle in shortest_cycles(comp, edges):
                names = [os.path.relpath(p, src) for p in cycle + cycle[:1]]
                print(f"  cycle: {' -> '.join(names)}", file=out)
            for a in comp:
                for b in comp:
                    if (a, b) in edges and b in members:
                        names = ", ".join(sorted(edges[(a, b)]))
                        print(f"  {rel(a)} -> {rel(b)}: {names}", file=out)
    print(
        f"import-circles: {total_files} files read, {total_edges} edges, {len(circles)} circles",
        file=out,
    )
    return (1 if circles else 0), circles


# --------------------------------------------------------------------------
# Self-test: a tiny tree whose verdicts are known, so that a broken checker
# fails loudly instead of passing everything.

SELF_TEST_TREE = {
    # Crate `knots`: two circles and one file outside them.
    "knots/src/lib.rs": """
        //! use crate::free::Nothing;  (a doc comment: not an edge)
        mod parent;
        mod hub;
        mod taker;
        mod user;
        pub mod inline_a;
        mod inline_b;
        mod free;
        pub use parent::Visible;
    """,
    # Circle 1, parent <-> child: the child takes a name through `super::`,
    # the parent through a grouped `pub use` of the child whose names its own
    # code uses (`Visible`); `Deep` is only handed on, which alone ties nothing.
    "knots/src/parent/mod.rs": """
        mod child;
        pub use self::child::{Visible, other::{Deep}};
        pub struct FromParent;
        pub fn wrap() -> Visible { Visible(FromParent) }
    """,
    "knots/src/parent/child.rs": """
        use super::FromParent;
        pub struct Visible(FromParent);
        pub mod other { pub struct Deep; }
    """,
    # Circle 3, through a module file with code of its own: `taker` takes
    # `Handed` through `hub`'s re-export (an edge to hub/mod.rs and on to
    # hub/handed.rs), hub/mod.rs's own code uses `user`, and `user` uses `taker`.
    "knots/src/hub/mod.rs": """
        mod handed;
        pub use handed::Handed;
        pub fn own() -> u32 { crate::user::u() }
    """,
    "knots/src/hub/handed.rs": """
        pub struct Handed;
    """,
    "knots/src/taker.rs": """
        use crate::hub::Handed;
        pub fn t() -> Handed { Handed }
    """,
    "knots/src/user.rs": """
        pub fn u() -> u32 { let _ = crate::taker::t(); 0 }
    """,
    # Circle 2, only through an inline `crate::` path in code.
    "knots/src/inline_a.rs": """
        pub fn a() -> u32 { crate::inline_b::b() + 1 }
    """,
    "knots/src/inline_b.rs": """
        use crate::inline_a as sibling;
        pub fn b() -> u32 { 0 }
        pub fn c() -> u32 { sibling::a() }
    """,
    # No circle: `free` takes from `inline_b`; what points back is only in a
    # comment, a string, a raw string and a test module.
    "knots/src/free.rs": """
        use crate::inline_b::b;
        pub fn f() -> u32 {
            let _s = "crate::free::f";
            let _r = r#"use crate::free::f; "quoted""#;
            let _c = '"';
            b() // crate::free::f
        }
        #[cfg(test)]
        mod tests { use crate::free::f; }
    """,
    # Crate `clean`: edges one way only, plus test code that would close a
    # circle if it were counted, and a test-only file.
    # `crate::Low` is only re-exported by lib.rs: an edge to low.rs, not to
    # lib.rs (else every facade lib.rs would be in a circle).
    "clean/src/lib.rs": """
        pub mod low;
        pub mod high;
        pub use low::Low;
        #[cfg(test)]
        mod test_only;
    """,
    "clean/src/low.rs": """
        pub struct Low;
        macro_rules! m { () => { use $crate::high::make; $crate::high::make() } }
        #[cfg(test)]
        mod tests { use crate::high::High; }
        #[cfg(test)]
        pub fn helper() -> crate::high::High { crate::high::High(super::low::Low) }
    """,
    "clean/src/high.rs": """
        use crate::{low::{self}, Low};
        pub struct High(pub low::Low);
        pub fn make() -> High { High(Low) }
    """,
    "clean/src/test_only.rs": """
        use crate::high::make;
        pub fn t() { let _ = crate::low::Low; make(); }
    """,
}


def self_test():
    failures = []
    with tempfile.TemporaryDirectory(prefix="import-circles-") as tmp:
        for rel_path, text in SELF_TEST_TREE.items():
            p = os.path.join(tmp, "crates", rel_path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as fh:
                fh.write(text)
        import io

        out, err = io.StringIO(), io.StringIO()
        code, circles = check(tmp, out, err)
        want = [
            ["crates/knots/src/hub/mod.rs", "crates/knots/src/taker.rs", "crates/knots/src/user.rs"],
            ["crates/knots/src/inline_a.rs", "crates/knots/src/inline_b.rs"],
            ["crates/knots/src/parent/child.rs", "crates/knots/src/parent/mod.rs"],
        ]
        if code != 1:
            failures.append(f"exit code {code}, want 1")
        if sorted(circles) != want:
            failures.append(f"circles {sorted(circles)}, want {want}")
        text = out.getvalue()
        for needle in (
            "crates/knots/src/parent/child.rs -> crates/knots/src/parent/mod.rs: crate::parent::FromParent",
            "crates/knots/src/inline_a.rs -> crates/knots/src/inline_b.rs: crate::inline_b::b",
            "crates/knots/src/parent/mod.rs -> crates/knots/src/parent/child.rs: crate::parent::child::Visible\n",
            "crates/knots/src/taker.rs -> crates/knots/src/hub/mod.rs: crate::hub::Handed\n",
            "  cycle: parent/child.rs -> parent/mod.rs -> parent/child.rs",
            "  cycle: inline_a.rs -> inline_b.rs -> inline_a.rs",
        ):
            if needle not in text:
                failures.append(f"output lacks {needle!r}")
        if err.getvalue():
            failures.append(f"unexpected warnings: {err.getvalue()!r}")

        # The clean crate alone: exit 0 and the summary line.
        for name in list(SELF_TEST_TREE):
            if name.startswith("knots/"):
                os.remove(os.path.join(tmp, "crates", name))
        out = io.StringIO()
        code, circles = check(tmp, out, err)
        if code != 0 or circles:
            failures.append(f"clean tree: exit {code}, circles {circles}")
        if "3 files read, 2 edges, 0 circles" not in out.getvalue():
            failures.append(f"clean tree summary: {out.getvalue()!r}")
    if failures:
        for f in failures:
            print(f"import-circles self-test FAILED: {f}", file=sys.stderr)
        return 1
    print("import-circles self-test: ok")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    code, _ = check(os.path.normpath(root))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
