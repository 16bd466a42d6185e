"""The grid directory (网格目录): streets, communities, estates, grids, coordinators,
union offices and chat groups, free of web frameworks and of Rasa.

Offers the domain objects (`grids.directory`), their tables and migrations
(`grids.model`, `grids.db`, `grids/migrations`), the repository other packages read
through (`grids.repository`), spreadsheet import/export (`grids.importer`), the
fictitious sample (`grids.generator`, output in `grids/sample`), free-text address
resolution (`grids.lookup`) and the service the actions use (`grids.service`).
Importing the package does no I/O.
"""
