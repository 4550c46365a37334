#!/usr/bin/env python3
"""Strict reader of the Prometheus text exposition format 0.0.4, for the
tests (promtool checks the same file; this also checks what promtool
leaves to conventions). Prints each sample as "name{labels} value", one a
line, and exits 1 with a message on the first problem:

- the file is UTF-8 and ends with a newline; no blank lines;
- HELP and TYPE once per family, TYPE before the family's samples, and
  each family's samples together;
- metric and label names are valid, label values use only the escapes
  \\\\, \\" and \\n; no sample twice;
- counters end in _total, gauges do not;
- histogram buckets rise with le, end with le="+Inf", and that bucket
  equals _count.
"""
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(n, msg):
    sys.stderr.write("prom.py: line %d: %s\n" % (n, msg))
    sys.exit(1)


def labels(n, s, i):
    """Parses {k="v",...} at s[i]; returns (dict, raw text, next index)."""
    start, out = i, {}
    i += 1
    while s[i] != "}":
        m = LABEL.match(s, i)
        if not m:
            fail(n, "bad label name")
        key, i = m.group(0), m.end()
        if s[i:i + 2] != '="':
            fail(n, "expected =\"")
        i += 2
        val = []
        while s[i] != '"':
            if s[i] == "\\":
                esc = s[i + 1]
                if esc not in '\\"n':
                    fail(n, "bad escape \\%s" % esc)
                val.append("\n" if esc == "n" else esc)
                i += 2
            elif s[i] == "\n":
                fail(n, "newline in a label value")
            else:
                val.append(s[i])
                i += 1
        i += 1
        if key in out:
            fail(n, "label %s twice" % key)
        out[key] = "".join(val)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            fail(n, "expected , or }")
    return out, s[start:i + 1], i + 1


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def main(path):
    text = open(path, "rb").read().decode("utf-8")
    if not text.endswith("\n"):
        fail(0, "no final newline")
    types, helps, seen, done = {}, set(), set(), set()
    current, buckets, out = None, {}, []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            fail(n, "blank line")
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not NAME.fullmatch(parts[2]):
                fail(n, "bad HELP or TYPE line")
            name = parts[2]
            if line.startswith("# HELP "):
                if name in helps:
                    fail(n, "HELP twice for " + name)
                helps.add(name)
                continue
            if name in types or parts[3] not in TYPES:
                fail(n, "bad or repeated TYPE for " + name)
            if name in done:
                fail(n, "TYPE after samples of " + name)
            if parts[3] == "counter" and not name.endswith("_total"):
                fail(n, "counter %s does not end in _total" % name)
            if parts[3] == "gauge" and name.endswith("_total"):
                fail(n, "gauge %s ends in _total" % name)
            types[name] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = NAME.match(line)
        if not m:
            fail(n, "bad metric name")
        name, i = m.group(0), m.end()
        lab, raw = {}, ""
        if i < len(line) and line[i] == "{":
            lab, raw, i = labels(n, line, i)
        rest = line[i:].split(" ")
        if len(rest) not in (2, 3) or rest[0] != "":
            fail(n, "expected one space and a value")
        try:
            value = float(rest[1])
        except ValueError:
            fail(n, "bad value " + rest[1])
        fam = family_of(name, types)
        if fam not in types:
            fail(n, "sample before TYPE of " + fam)
        if fam != current:
            if fam in done:
                fail(n, "samples of %s are not together" % fam)
            if current is not None:
                done.add(current)
            current = fam
        key = name + raw
        if key in seen:
            fail(n, "sample twice: " + key)
        seen.add(key)
        if types[fam] == "histogram":
            if name.endswith("_bucket"):
                le = lab.get("le")
                if le is None:
                    fail(n, "bucket without le")
                prev = buckets.get(fam)
                bound = float("inf") if le == "+Inf" else float(le)
                if prev and (bound <= prev[0] or value < prev[1]):
                    fail(n, "buckets do not rise")
                buckets[fam] = (bound, value)
            elif name.endswith("_count"):
                if buckets.get(fam, (0, None))[0] != float("inf") or \
                        buckets[fam][1] != value:
                    fail(n, "+Inf bucket missing or not equal to _count")
        out.append("%s %s" % (key, rest[1]))
    sys.stdout.write("".join(x + "\n" for x in out))


if __name__ == "__main__":
    main(sys.argv[1])
