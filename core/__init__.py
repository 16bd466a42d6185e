"""The bottom layer every other package may import; it imports none of them.

Offers the typed settings (`core.settings`), the topic contract (`core.topics`),
text normalisation and the one @-mention matcher (`core.normalize`), UTF-8 byte
counting, cutting and splitting (`core.utf8`), the database engine factory,
declarative bases and the migration runner (`core.db`), the clock and time zone
(`core.clock`) and the platform names (`core.platforms`).
"""
