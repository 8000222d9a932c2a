"""Singer tap for HubSpot CRM objects, faithful to HubSpot's own record shape."""
