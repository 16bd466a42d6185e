"""The platforms where grid groups talk, as pure code below both the connectors and
the broadcaster: each platform's protocol (`platforms.protocol`: crypto, signatures,
payload parsing into `platforms.message`), its send clients (`platforms.clients`)
and one exception tree (`platforms.errors`). No Rasa, no web framework."""
