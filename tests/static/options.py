#!/usr/bin/env python3
"""Every option a command really parses is named in its --help, in the
manual page's SYNOPSIS entry for that command, and in the README's
synopsis of it.

The options come from the commands themselves: the test builds
(tenant-export-hooked, tenant-verify-hooked) list the long options of the
table each command's getopt loop runs over (TEXP_TEST_LIST_OPTIONS), so
an option added to any command without documentation fails here.

Synopsis entries, in the manual page: from one `.Nm` line to the next,
the commands are the words of its `.Cm` line (split at "|" and ","), the
options every `Fl -NAME`; "common options" in an entry brings in the
entry after the line "Common options:". In the README's code blocks: a
line "tenant-export CMD[|CMD...] ..." starts an entry, indented lines
continue it, options are the "--NAME" words; "COMMON" in an entry brings
in the line "COMMON: ...".
"""
import os
import re
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("TEXP_BUILD", os.path.join(TOP, "build"))
UNIVERSAL = {"--help", "--version"}   # every command; documented once
TEST_ONLY = {"--time"}                 # test builds only (docs/CONTROL.md)
# options a command's table shares with another command and refuses
# itself with a usage error (tests/integration/verify_cli.sh)
REFUSED = {("tenant-verify", "verify"): {"--format", "--out"}}

failures = []


def run(args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(args, capture_output=True, text=True, env=e)
    return p.returncode, p.stdout, p.stderr


def commands(prog):
    """The subcommands a binary's --help lists."""
    rc, out, _ = run([os.path.join(BUILD, prog), "--help"])
    if rc != 0:
        failures.append("%s --help exits %d" % (prog, rc))
        return []
    cmds, on = [], False
    for line in out.splitlines():
        if line.strip().lower() == "commands:":
            on = True
            continue
        if on:
            m = re.match(r"^  (\S+)\s", line)
            if not m:
                break
            cmds.append(m.group(1))
    return cmds


def parsed_options(prog, cmd):
    hooked = os.path.join(BUILD, "tests", prog + "-hooked")
    rc, out, err = run([hooked, cmd], env={"TEXP_TEST_LIST_OPTIONS": "1"})
    opts = {l.split()[0] for l in out.splitlines() if l.startswith("--")}
    if rc != 0 or not opts:
        failures.append("%s %s: cannot list its options (%s)" %
                        (prog, cmd, err.strip()))
    return opts - UNIVERSAL - TEST_ONLY - REFUSED.get((prog, cmd), set())


def man_entries(path):
    text = open(path).read()
    syn = text.split(".Sh SYNOPSIS", 1)[1].split("\n.Sh ", 1)[0]
    entries, common, cur = [], set(), None
    for line in syn.splitlines():
        if line.startswith(".Nm"):
            cur = {"cmds": set(), "opts": set(), "common": False}
            entries.append(cur)
            continue
        if "Common options:" in line:
            cur = {"cmds": {"<common>"}, "opts": set(), "common": False}
            entries.append(cur)
            continue
        if cur is None:
            continue
        if line.startswith(".Cm") and not cur["cmds"]:
            cur["cmds"] = {w for w in re.split(r"[\s|,]+", line[3:])
                           if re.match(r"^[a-z][a-z-]*$", w)}
        cur["opts"] |= {"--" + o for o in re.findall(r"Fl -([a-z0-9-]+)",
                                                       line)}
        if "common options" in line:
            cur["common"] = True
    for e in entries:
        if "<common>" in e["cmds"]:
            common = e["opts"]
    return entries, common


def readme_entries(path, prog):
    entries, common, cur, fence = [], set(), None, False
    for line in open(path).read().splitlines():
        if line.startswith("```"):
            fence, cur = not fence, None
            continue
        if not fence:
            continue
        m = re.match(r"^%s ((?:[a-z-]+\|)*[a-z-]+)(.*)$" % prog, line)
        if m:
            cur = {"cmds": set(m.group(1).split("|")), "opts": set(),
                   "common": False}
            entries.append(cur)
            rest = m.group(2)
        elif re.match(r"^\s+COMMON:", line):
            common |= set(re.findall(r"--[a-z0-9-]+", line))
            cur = None
            continue
        elif cur is not None and re.match(r"^\s", line):
            rest = line
        else:
            cur = None
            continue
        cur["opts"] |= set(re.findall(r"--[a-z0-9-]+", rest))
        if "COMMON" in rest:
            cur["common"] = True
    return entries, common


def documented(entries, common, cmd):
    found, opts = False, set()
    for e in entries:
        if cmd in e["cmds"]:
            found = True
            opts |= e["opts"]
            if e["common"]:
                opts |= common
    return found, opts


def check(prog, man):
    readme = os.path.join(TOP, "README.md")
    m_entries, m_common = man_entries(os.path.join(TOP, "docs", man))
    r_entries, r_common = readme_entries(readme, prog)
    cmds = commands(prog)
    if not cmds:
        failures.append("%s: no commands found in --help" % prog)
    for cmd in cmds:
        opts = parsed_options(prog, cmd)
        rc, help_out, _ = run([os.path.join(BUILD, prog), cmd, "--help"])
        if rc != 0:
            failures.append("%s %s --help exits %d" % (prog, cmd, rc))
        help_opts = set(re.findall(r"--[a-z0-9-]+", help_out))
        # the options the help defines: lines that begin with one
        help_defs = set(re.findall(r"(?m)^\s+(?:-[a-zA-Z], )?(--[a-z0-9-]+)",
                                   help_out))
        for src, (found, docs) in (
                ("docs/" + man, documented(m_entries, m_common, cmd)),
                ("README.md", documented(r_entries, r_common, cmd))):
            if not found:
                failures.append("%s: no synopsis of '%s %s'" %
                                (src, prog, cmd))
                continue
            for o in sorted(opts - docs):
                failures.append("%s: '%s %s' does not name %s" %
                                (src, prog, cmd, o))
        for o in sorted(opts - help_opts):
            failures.append("'%s %s --help' does not name %s" %
                            (prog, cmd, o))
        for o in sorted(help_defs - opts - UNIVERSAL):
            failures.append("'%s %s --help' names %s, which it does not "
                            "parse" % (prog, cmd, o))


check("tenant-export", "tenant-export.1")
check("tenant-verify", "tenant-verify.1")
for f in failures:
    print("options: " + f)
if failures:
    print("options: %d difference(s) between the commands and their "
          "documentation" % len(failures))
    sys.exit(1)
print("options: every option of every command is in its --help, the "
      "manual page and the README")
