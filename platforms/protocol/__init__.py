"""The protocol layer: each platform's crypto, signature checks and payload
parsing as pure code (no web framework, no network), turning a `RawRequest`
into an `Event` (see `platforms.message`). Unit-tested without HTTP."""
