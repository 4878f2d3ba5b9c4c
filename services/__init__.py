"""The three services of Collective Procurement: demand, tendering and savings."""
