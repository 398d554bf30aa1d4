"""The hardware-in-the-loop harness: deploy twinsock to boards over serial and run
on-board checks. Pieces: serial_link (bytes, deadlines, transcript), raw_repl (the
protocol), board (outcomes and recovery), emulated (the unix board), discovery,
filelist/deploy/packaging, server (the host server and the board's hil_env.py),
checks/report, flash, cli."""
