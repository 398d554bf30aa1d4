"""Reporting check results: a live line per check, a final table, junit XML."""

import re
import xml.etree.ElementTree as ElementTree

from .checks import LOST, SKIP

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
    lines.append("%d checks, %d failed" % (len(results), failed))
    return "\n".join(lines)


def xml_text(data):
    return XML_UNSAFE.sub(lambda m: "\\x%02x" % ord(m.group(0)), data.decode(errors="replace"))


def junit_xml(board_name, results):
    suite = ElementTree.Element(
        "testsuite",
        name="hil.%s" % board_name,
        tests=str(len(results)),
        failures=str(sum(1 for r in results if r.failed and r.result != LOST)),
        errors=str(sum(1 for r in results if r.result == LOST)),
        skipped=str(sum(1 for r in results if r.result == SKIP)),
        time="%.3f" % sum(r.seconds for r in results),
    )
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
    return ElementTree.tostring(suite, encoding="unicode")


def write_junit(path, board_name, results):
    with open(path, "w") as report:
        report.write('<?xml version="1.0" encoding="utf-8"?>\n')
        report.write(junit_xml(board_name, results))
        report.write("\n")
