"""Local development tools: start Azurite and emulator regions, the demo, sample data.

Never deployed (see .funcignore); used by scripts/, tests/ and bench/.
"""
