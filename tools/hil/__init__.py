"""The hardware-in-the-loop harness: deploy twinsock to boards over serial and run
on-board checks. Pieces: transport (mpremote's SerialTransport with deadlines, reboot
watching and a transcript), board (outcomes and recovery), emulated (the unix board),
discovery, filelist/deploy/packaging, server (the host server and the board's
hil_env.py), checks/report, pytest_plugin (the suite as pytest items), flash, cli."""
