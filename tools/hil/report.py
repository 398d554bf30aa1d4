"""The results table per board and the summary of a run on several boards (printed by
the pytest plugin at the end of the run; progress and junit are pytest's)."""

from .checks import PASS, SKIP


def heap_text(value):
    return "-" if value is None else str(value)


def delta_text(value):
    return "-" if value is None else "%+d" % value


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
