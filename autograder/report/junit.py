"""JUnit XML: one testsuite per submission, one testcase per check."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..results import SubmissionResult

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text) -> str:
    """Text XML can hold: characters XML 1.0 forbids (control characters, lone surrogates) replaced."""
    return _NOT_XML.sub("\ufffd", str(text))


def junit_tree(results: list[SubmissionResult]) -> ET.ElementTree:
    suites = ET.Element("testsuites")
    for result in results:
        failures = len(result.failed()) + (1 if result.error else 0)
        suite = ET.SubElement(suites, "testsuite", name=_xml(result.submission), tests=str(len(result.checks) or 1),
                              failures=str(failures), errors="0", time=f"{result.seconds:.3f}")
        if result.selection:
            ET.SubElement(ET.SubElement(suite, "properties"), "property", name="partial run",
                          value=_xml(result.partial_note))
        if result.error:
            case = ET.SubElement(suite, "testcase", classname=_xml(result.submission), name="submission")
            ET.SubElement(case, "failure", message=_xml(result.error))
        for check in result.checks:
            case = ET.SubElement(suite, "testcase", classname=_xml(result.submission), name=_xml(check.check_id),
                                 time=f"{check.seconds:.3f}")
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="points", value=f"{check.points:g}/{check.max_points:g}")
            if not check.passed:
                ET.SubElement(case, "failure", message=_xml(check.feedback))
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(results: list[SubmissionResult], path) -> None:
    junit_tree(results).write(path, encoding="utf-8", xml_declaration=True)
