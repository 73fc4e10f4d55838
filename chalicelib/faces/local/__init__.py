"""The offline face engine (docs/offline-engine.md); `engine.LocalEngine`."""
