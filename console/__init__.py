"""The staff side at the edge: the staff HTTP API (`console.staff_api`: broadcasts,
with bearer-token authentication), on which the staff console builds."""
