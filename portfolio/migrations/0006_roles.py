"""Create the Viewer, Analyst and Admin groups; their permissions are given after every migrate
(portfolio.services.roles.roles_ensure), once the permissions themselves exist."""

from django.db import migrations

ROLES = ("Viewer", "Analyst", "Admin")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("portfolio", "0005_run_refresh_permission"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
