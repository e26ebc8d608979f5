"""Step 1, the inventory: what runs where, at which versions, and is it upgradable.

Read: ``eks`` (EKS versions, support, node groups, add-ons, insights) and ``cluster``
(nodes, workloads, PDBs, Helm releases) into the rows of ``models``, orchestrated by
``collect``; judge: ``judge`` (rules on each cluster) and ``parity`` (blue against green);
present: ``present`` (terminal tables, artefacts) and ``plots``.
"""

STEP = "01-inventory"
