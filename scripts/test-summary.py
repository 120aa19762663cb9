#!/usr/bin/env python3
"""Adds up every Surefire report of the build into one closing line: 'tests: N passed, N failed, N skipped'."""
import pathlib
import sys
import xml.etree.ElementTree as ET

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
total = failed = skipped = 0
for report in sorted(root.glob("**/target/surefire-reports/TEST-*.xml")):
    if ".m2" in report.parts:
        continue
    suite = ET.parse(report).getroot()
    total += int(suite.get("tests", 0))
    failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped += int(suite.get("skipped", 0))
print(f"\ntests: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
