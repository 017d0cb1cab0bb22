"""Linking across organizations (LINQ): Japanese normalisation, pseudonyms, PSI and Splink.

Identifiers are normalised first (``normalize``: names, kana readings, variant kanji,
phone numbers, e-mail, postal codes, birth dates in Western and era forms, addresses),
then matched in one of three strengths: keyed pseudonyms joined in DuckDB
(``pseudonym``), ECDH private set intersection (``psi``) and probabilistic linkage with
Splink on DuckDB (``probabilistic``; ``tsunagu linkage link`` for files). Matching only
ever sees persons whose consent covers the collaboration, and a match table holds
pseudonymous ids only.
"""
