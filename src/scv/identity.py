"""Customer ids: which id each cluster of records carries.

Engine table `customer_clusters(cluster_id, customer_id)`, read by the golden stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scv.pipeline import Run

CUSTOMER_ID_PREFIX = "C"


def assign_customer_ids(run: Run) -> None:
    d = run.engine.dialect
    run.engine.create(
        "customer_clusters",
        f"""select cluster_id,
                   concat({d.literal(CUSTOMER_ID_PREFIX)}, upper(substr(md5(min(record_key)), 1, 12))) as customer_id
            from clusters group by cluster_id""",
    )
