"""ENF-LINK's identity linkage: a Fellegi-Sunter model trained on the data it links.

- `blocking`: which (case, subject) pairs are compared, as a union of rules;
- `compare`: the level each field of a pair reaches (`verification.comparison` scales);
- `model`: the fields, m and u, the weights and the match probability (`DEFAULT` before training);
- `em`: u from random pairs, m by expectation-maximisation;
- `training`: `manage.py crossref train-linkage`, stored versioned as `LinkageModel`;
- `store`: the parameters a run scores with.
"""
