"""Analytics as CloudWatch Embedded Metric Format (EMF): one JSON object per line on stdout.
Lambda ships stdout to CloudWatch Logs, and CloudWatch extracts the metrics declared in the
"_aws" block, with no SDK call and no latency on the request. The other keys are kept as
searchable properties in Logs Insights. No personal data (emails) goes in a record.
"""

import json
import sys
import time


class Metrics:
    def __init__(self, namespace="Store", service="store", stream=None):
        self.namespace = namespace
        self.service = service
        self.stream = stream   # None: sys.stdout at the time of the write

    def emit(self, metrics, dimensions=None, properties=None, timestamp_ms=None):
        """metrics: {name: (value, unit)}; dimensions: {name: value}, always with Service."""
        dims = {"Service": self.service}
        dims.update(dimensions or {})
        record = {
            "_aws": {
                "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [list(dims)],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
                }],
            },
        }
        record.update(properties or {})
        record.update(dims)
        record.update({name: value for name, (value, _) in metrics.items()})
        stream = self.stream or sys.stdout
        stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        stream.flush()
        return record

    def sign_up(self, user_id, request_id=""):
        return self.emit({"SignUps": (1, "Count")},
                         properties={"event": "sign_up", "userId": user_id, "requestId": request_id})

    def order(self, order, outcome, request_id=""):
        """outcome: paid, declined or out_of_stock."""
        items = sum(line["quantity"] for line in order.get("lines", []))
        metrics = {"Orders": (1, "Count")}
        if outcome == "paid":
            metrics["OrderValue"] = (order["total_cents"] / 100.0, "None")
            metrics["ItemsSold"] = (items, "Count")
        return self.emit(metrics, dimensions={"Outcome": outcome},
                         properties={"event": "order", "orderId": order["order_id"],
                                     "userId": order["user_id"], "currency": order.get("currency"),
                                     "items": items, "requestId": request_id})
