"""REST API under /api/v1/: resources, analytics and refresh jobs, for other systems and notebooks."""
