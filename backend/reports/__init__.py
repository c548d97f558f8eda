"""Reports for funders, regulators, merchants and operators, exported as CSV or xlsx."""
