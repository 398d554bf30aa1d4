"""Reporting check results: a live line per check, a final table, junit XML."""

import re
import xml.etree.ElementTree as ElementTree

from .checks import LOST, PASS, SKIP

# XML 1.0 cannot carry most control bytes; the raw REPL uses \x04 as a frame end.
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def heap_text(value):
    return "-" if value is None else str(value)


def delta_text(value):
    return "-" if value is None else "%+d" % value


def progress_line(board_name, result):
    detail = "  (%s)" % result.detail if result.detail else ""
    return "[%s] %-28s %-12s %7.2fs%s" % (
        board_name,
        result.name,
        result.result,
        result.seconds,
        detail,
    )


def table(board_name, results):
    header = "%-28s %-12s %8s %11s %11s %8s" % (
        "CHECK",
        "RESULT",
        "TIME",
        "HEAP BEFORE",
        "HEAP AFTER",
        "DELTA",
    )
    lines = ["board: %s" % board_name, header, "-" * len(header)]
    for result in results:
        lines.append(
            "%-28s %-12s %7.2fs %11s %11s %8s"
            % (
                result.name,
                result.result,
                result.seconds,
                heap_text(result.heap_before),
                heap_text(result.heap_after),
                delta_text(result.heap_delta),
            )
        )
    failed = sum(1 for result in results if result.failed)
    lines.append("%d check%s, %d failed" % (len(results), "" if len(results) == 1 else "s", failed))
    return "\n".join(lines)


def xml_text(data):
    return XML_UNSAFE.sub(lambda m: "\\x%02x" % ord(m.group(0)), data.decode(errors="replace"))


def summary(boards):
    """One line per board of a parallel run: [(label, results, harness error or None)]."""
    header = "%-28s %6s %6s %6s %6s  %s" % ("BOARD", "CHECKS", "PASS", "SKIP", "FAILED", "NOTE")
    lines = ["summary", header, "-" * len(header)]
    for label, results, error in boards:
        counts = [sum(1 for r in results if r.result == kind) for kind in (PASS, SKIP)]
        failed = sum(1 for r in results if r.failed)
        lines.append(
            "%-28s %6d %6d %6d %6d  %s"
            % (label, len(results), counts[0], counts[1], failed, error or "")
        )
    return "\n".join(lines)


def junit_suite(board_name, results, error=None):
    suite = ElementTree.Element(
        "testsuite",
        name="hil.%s" % board_name,
        tests=str(len(results) + (1 if error else 0)),
        failures=str(sum(1 for r in results if r.failed and r.result != LOST)),
        errors=str(sum(1 for r in results if r.result == LOST) + (1 if error else 0)),
        skipped=str(sum(1 for r in results if r.result == SKIP)),
        time="%.3f" % sum(r.seconds for r in results),
    )
    if error:
        case = ElementTree.SubElement(
            suite, "testcase", classname="hil.%s" % board_name, name="harness", time="0"
        )
        ElementTree.SubElement(case, "error", message=error, type="harness")
    for result in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname="hil.%s" % board_name,
            name=result.name,
            time="%.3f" % result.seconds,
        )
        if result.result == SKIP:
            ElementTree.SubElement(case, "skipped", message=result.detail)
        elif result.result == LOST:
            ElementTree.SubElement(case, "error", message=result.detail, type=result.result)
        elif result.failed:
            failure = ElementTree.SubElement(
                case, "failure", message=result.detail, type=result.result
            )
            failure.text = result.detail
        properties = ElementTree.SubElement(case, "properties")
        for key in ("heap_before", "heap_after"):
            value = getattr(result, key)
            ElementTree.SubElement(properties, "property", name=key, value=heap_text(value))
        ElementTree.SubElement(case, "system-out").text = xml_text(result.transcript)
    return suite


def junit_xml(boards):
    """<testsuites> with one <testsuite> per board: [(label, results, error or None)]."""
    root = ElementTree.Element("testsuites", name="hil")
    for label, results, error in boards:
        root.append(junit_suite(label, results, error))
    return ElementTree.tostring(root, encoding="unicode")


def write_junit(path, boards):
    with open(path, "w") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n')
        out.write(junit_xml(boards))
        out.write("\n")
