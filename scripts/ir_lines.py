#!/usr/bin/env python3
"""Lines of unoptimised LLVM IR per function family, summed over instances.

    python3 scripts/ir_lines.py CRATE.ll [TOP]

Function names are grouped by erasing hashes, the compile-cost crate's model names and
numbers, so the 50 copies of one generic function count as one row: lines, copies, name.
"""
import collections
import re
import sys


def families(path):
    lines = collections.Counter()
    copies = collections.Counter()
    current, count = None, 0
    with open(path) as ir:
        for line in ir:
            if line.startswith("define "):
                found = re.search(r'@"?([^"(]+)"?\(', line)
                current, count = (found.group(1) if found else "?"), 0
            elif current is not None:
                count += 1
                if line.startswith("}"):
                    name = re.sub(r"17h[0-9a-f]{16}E$", "", current)
                    name = re.sub(r"M\d+L\d+", "M", name)
                    name = re.sub(r"\d+", "#", name)
                    for old, new in (("$LT$", "<"), ("$GT$", ">"), ("$u#$", " "), ("..", "::")):
                        name = name.replace(old, new)
                    lines[name] += count
                    copies[name] += 1
                    current = None
    return lines, copies


def main():
    lines, copies = families(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    print(f"total {sum(lines.values())} lines in {sum(copies.values())} functions")
    for name, count in lines.most_common(top):
        print(f"{count:8} {copies[name]:5}  {name[:150]}")


if __name__ == "__main__":
    main()
