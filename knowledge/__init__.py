"""Knowledge base (知识库): the answer of every FAQ, referral and small-talk response,
readable by all staff and editable by staff with the right role, with versions
(who, when, old and new text, note; rollback = a new version), local fields that
answers name as `[[key]]`, training examples and triage decisions from the "could
not answer" queue, and an audit record of every change.

- `knowledge.service.KnowledgeBase`: the public API (one transaction per change);
- `knowledge.model`: the values it returns and its errors (Chinese messages);
- `knowledge.placeholders`: the `[[field]]` syntax, its validation and rendering;
- `knowledge.files`: reading data/answers (the default content) and exporting back;
- `knowledge.db`: its Alembic migrations (tables `kb_*`).

The running assistant reads it through `bot.nlg.KnowledgeBaseNLG`. No web framework,
no Rasa."""
