"""The applications built on the recipes: the main job's comparison of every regularizer
over paired seeds and its report (``compare``, with ``comparison``, ``sweep``, ``tuning``,
``stats``, ``sequential``, ``claims`` and ``report``), the accuracy baselines (record them, check the
project, a student's copy of a recipe or a class's results against them) and the
exercises' grader, with the supervised child process that keeps a student's code in its
box. They import the recipes and the exercises; ``common`` (the library the recipes use)
imports nothing from here."""
