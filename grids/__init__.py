"""The grid directory (网格目录) of Cloud Doctor.

Offers: the domain objects (`grids.directory`: Street, Community, Estate, Grid,
Coordinator, UnionOffice, ChatGroup, Directory), their SQLAlchemy tables and
Alembic migrations (`grids.model`, `grids.db`, `grids/migrations`), the
spreadsheet import/export (`grids.importer`), the fictitious sample generator
(`grids.generator`, committed output in `grids/sample`), free-text address
resolution (`grids.lookup.Resolver` on a spaCy gazetteer, `grids.gazetteer`),
the service used by actions (`grids.service`), the Rasa entity extractor
(`grids.nlu.AddressGazetteer`) and the `cloud-doctor grids` commands
(`grids.cli.register`). Importing the package does no I/O.
"""
