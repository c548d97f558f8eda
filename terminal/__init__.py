"""The terminal's core: scenes, payment decisions, offline rules, the local store. No Qt, no HTTP."""
