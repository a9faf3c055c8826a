"""Build the source document's own example map. Safe to run again: it updates, never duplicates."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from opsmodel.roles import ADMINS, FOUNDERS, TEAM_MEMBERS, sync_roles
from processes.models import Metric, MetricValue, Process, Step
from processes.periods import period_start, previous_starts
from sops.models import SOP
from systems.models import Software, System

DEMO_PASSWORD = "opsmodel-demo"

PEOPLE = [
    # username, first, last, job title, roles, staff
    ("founder", "Maya", "Ortiz", "Founder & CEO", [FOUNDERS, ADMINS], True),
    ("member", "Sam", "Lee", "Content producer", [TEAM_MEMBERS], False),
    ("priya", "Priya", "Shah", "Marketing lead", [TEAM_MEMBERS], False),
    ("jonas", "Jonas", "Berg", "Operations & finance", [TEAM_MEMBERS], False),
    ("alex", "Alex", "Kim", "Video editor", [TEAM_MEMBERS], False),
]

SOFTWARE = [
    # name, link, category, owner, notes
    (
        "YouTube Studio",
        "https://studio.youtube.com",
        "content",
        "priya",
        "Channel uploads, titles, analytics.",
    ),
    ("Descript", "https://www.descript.com", "content", "alex", "Editing and captions; two seats."),
    (
        "Riverside",
        "https://riverside.fm",
        "content",
        "member",
        "Remote recording in studio quality.",
    ),
    ("Kit", "https://kit.com", "marketing", "priya", "Email list, sequences and landing pages."),
    ("Canva", "https://www.canva.com", "marketing", "priya", "Thumbnails and lead-magnet PDFs."),
    ("Stripe", "https://stripe.com", "finance", "jonas", "Card payments and invoices."),
    (
        "QuickBooks",
        "https://quickbooks.intuit.com",
        "finance",
        "jonas",
        "Bookkeeping; monthly close.",
    ),
    ("Notion", "https://www.notion.so", "operations", "founder", "Scripts, client notes, wiki."),
    ("Slack", "https://slack.com", "communication", "founder", "Team chat and client channels."),
    ("Teachable", "https://teachable.com", "content", "founder", "Hosts the paid course."),
]

# Systems nest as they grow in scope: each entry's parent is the one before it.
SYSTEMS = [
    (
        "Wealth generation",
        "founder",
        ["QuickBooks"],
        "Turns profit into lasting wealth: what the business keeps, invests and compounds. "
        "Its annual targets are the business's goals.",
    ),
    (
        "Revenue generation",
        "founder",
        ["Stripe", "QuickBooks", "Notion"],
        "Turns attention and intellectual property into paying clients and paid products, "
        "and keeps the cash coming in.",
    ),
    (
        "IP creation",
        "founder",
        ["Teachable", "Notion"],
        "Turns what we know into assets we own — courses, templates, frameworks — "
        "that sell without more hours from us.",
    ),
    (
        "Lead generation",
        "priya",
        ["YouTube Studio", "Descript", "Riverside", "Kit", "Canva"],
        "Brings the right people to us every week: YouTube content, email content and opt-in "
        "funnels feed the list that revenue generation sells to.",
    ),
]

# system, process, result, owner, [(step, owner, due in days or None)]
PROCESSES = [
    (
        "Lead generation",
        "YouTube content creation",
        "One video published every week",
        "member",
        [
            ("Scripting", "member", -2),
            ("Filming", "member", 1),
            ("Editing", "alex", 3),
            ("Publishing", "priya", 5),
        ],
    ),
    (
        "Lead generation",
        "Email content",
        "A newsletter in every subscriber's inbox on Thursday",
        "priya",
        [
            ("Drafting the newsletter", "priya", 2),
            ("Reviewing", "founder", 3),
            ("Scheduling the send", "priya", 4),
        ],
    ),
    (
        "Lead generation",
        "Opt-in funnels",
        "New subscribers from every video and post",
        "priya",
        [
            ("Choosing a lead magnet", "founder", None),
            ("Building the landing page", "priya", 10),
            ("Connecting the email sequence", "priya", 12),
            ("Testing the funnel", "member", 14),
        ],
    ),
    (
        "IP creation",
        "Course creation",
        "A new course module ready to sell",
        "founder",
        [
            ("Outlining the module", "founder", 7),
            ("Recording the lessons", "member", 21),
            ("Publishing the module", "founder", 28),
        ],
    ),
    (
        "Revenue generation",
        "Client billing",
        "Every client invoiced on time and paid",
        "jonas",
        [
            ("Logging billable work", "jonas", 0),
            ("Sending an invoice", "jonas", 1),
            ("Chasing late payments", "jonas", 8),
        ],
    ),
    (
        "Revenue generation",
        "Client offboarding",
        "A client leaves happy, with nothing left open",
        "founder",
        [
            ("Delivering the final files", "member", None),
            ("Offboarding the client", "founder", None),
            ("Asking for a testimonial", "priya", None),
        ],
    ),
    (
        "Wealth generation",
        "Monthly financial review",
        "Profit known, paid to ourselves and set aside",
        "jonas",
        [
            ("Closing the books", "jonas", 6),
            ("Reviewing the numbers", "founder", 7),
            ("Moving profit to savings", "founder", 7),
        ],
    ),
]

# process, step (or None), title, owner, outcome, minutes, software, body
SOPS = [
    (
        "YouTube content creation",
        "Scripting",
        "Writing a video script",
        "member",
        "A script the host can read in one take",
        90,
        ["Notion"],
        """\
1. Open the **Video ideas** board in Notion and take the top idea marked *Ready*.
2. Write the hook: the problem in one sentence and the promise in another.
3. Outline three to five points; each gets an example from a real client.
4. Write the call to action for this week's lead magnet.
5. Read the script aloud once and cut every sentence that does not earn its place.
6. Move the card to *Scripted* and tag the host.
""",
    ),
    (
        "YouTube content creation",
        "Filming",
        "Recording a video",
        "member",
        "Clean A-roll and audio for one video, uploaded for editing",
        60,
        ["Riverside", "Notion"],
        """\
1. Charge the camera and the microphone; clear the desk behind you.
2. Turn on the key light and the fill light; check that your face is evenly lit.
3. Open the script in Notion on the teleprompter tablet.
4. Record ten seconds of silence for noise removal.
5. Record the video in sections, one take per point; clap between sections.
6. Check the last take plays back with sound.
7. Upload the files to the **Raw footage** folder and name them `YYYY-MM-DD title`.

> If a take goes wrong, keep going and clap twice: the editor cuts at the double clap.
""",
    ),
    (
        "Email content",
        "Drafting the newsletter",
        "Writing the weekly newsletter",
        "priya",
        "A newsletter draft ready for review",
        75,
        ["Kit"],
        """\
1. Duplicate last week's newsletter in Kit.
2. Lead with this week's video: one paragraph and the link.
3. Add one useful tip that is not in the video.
4. Write the subject line three ways and pick the shortest.
5. Send a test to yourself and read it on your phone.
6. Mark the draft *Ready for review* and tell Maya in Slack.
""",
    ),
    (
        "Opt-in funnels",
        "Testing the funnel",
        "Testing an opt-in funnel",
        "member",
        "Proof that a new subscriber gets the lead magnet and the first email",
        30,
        ["Kit"],
        """\
1. Open the landing page in a private browser window.
2. Sign up with a `+test` address.
3. Check the thank-you page loads and the download works.
4. Check the first email arrives within five minutes and its links work.
5. Delete the test subscriber in Kit.
""",
    ),
    (
        "Client billing",
        "Sending an invoice",
        "Sending an invoice",
        "jonas",
        "An accurate invoice in the client's inbox",
        20,
        ["Stripe", "QuickBooks"],
        """\
1. In QuickBooks, check the hours logged for the client this month.
2. In Stripe, create the invoice from the client's saved details.
3. Add one line per deliverable, with the dates.
4. Set payment terms to 14 days.
5. Send it, then note the invoice number on the client's page in Notion.
""",
    ),
    (
        "Client offboarding",
        "Offboarding the client",
        "Offboarding a client",
        "founder",
        "The client has everything they need and nothing is left open",
        45,
        ["Notion", "Slack"],
        """\
1. Send the final files and a one-page summary of what was delivered.
2. Confirm the last invoice is paid.
3. Remove the client from Slack and archive their channel.
4. Revoke their access to shared folders.
5. Book a 15-minute goodbye call and ask what we could have done better.
6. Mark the client *Offboarded* in Notion.
""",
    ),
    (
        "Course creation",
        "Recording the lessons",
        "Recording a course lesson",
        "member",
        "One lesson recorded and ready to edit",
        60,
        ["Riverside"],
        """\
1. Open the lesson outline.
2. Record the lesson in one take per section.
3. Record the screen demo separately.
4. Upload both files to the course folder.
""",
    ),
    (
        "Monthly financial review",
        "Closing the books",
        "Closing the monthly books",
        "jonas",
        "Books reconciled for the month",
        90,
        ["QuickBooks", "Stripe"],
        """\
1. Reconcile every bank and card account in QuickBooks.
2. Match Stripe payouts to invoices.
3. Categorise anything left uncategorised.
4. Export the profit and loss report and share it with Maya.
""",
    ),
    # Too big for one SOP, on purpose: the health checks flag it, and a founder can turn it into
    # a process ("If an SOP requires many people or many sittings, it belongs at the process
    # level").
    (
        "Course creation",
        None,
        "Launching the course",
        "founder",
        "The course open for enrolment, announced to every subscriber",
        240,
        ["Notion"],
        """\
1. Record the welcome lesson and upload it to the course platform.
2. Hand the sales page over to Priya for the copy.
3. Wait for the beta students' feedback and fix what they found.
4. Set the price and the launch discount.
5. Announce the launch in the newsletter and on YouTube.
""",
    ),
    (
        "Client billing",
        None,
        "Handling a refund request",
        "jonas",
        "The client hears back within one working day, refunded or with a clear answer",
        25,
        ["Stripe"],
        """\
1. Read the request and find the invoice in Stripe.
2. Check the refund policy in the handbook.
3. If it qualifies, refund in Stripe and reply with the confirmation.
4. If it does not, reply with the reason and offer a call.
""",
    ),
]


# (system or process, name, unit, owner, target, direction, cadence, values oldest first)
# Weekly values cover the last 16 weeks, monthly the last 6 months, annual the last 3 years;
# the last one is the current period.
METRICS = [
    ("YouTube content creation", "Videos published", "videos", "member", 1, "higher", "weekly",
     [1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0]),
    ("YouTube content creation", "Average view duration", "%", "alex", 45, "higher", "weekly",
     [41, 43, 44, 46, 47, 45, 48, 49, 47, 50, 52, 51, 49, 53, 52, 54]),
    ("Email content", "Newsletters sent", "emails", "priya", 1, "higher", "weekly",
     [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
    ("Email content", "Unsubscribe rate", "%", "priya", 0.5, "lower", "weekly",
     [0.4, 0.3, 0.6, 0.4, 0.3, 0.4, 0.5, 0.3, 0.2, 0.4, 0.3, 0.5, 0.4, 0.3, 0.4, 0.3]),
    ("Opt-in funnels", "Opt-in subscribers", "subscribers", "priya", 120, "higher", "weekly",
     [95, 102, 110, 118, 125, 131, 128, 140, 136, 129, 122, 117, 112, 108, 104, 101]),
    ("Client billing", "Invoices paid within 14 days", "%", "jonas", 90, "higher", "weekly",
     [92, 95, 88, 91, 94, 96, 93, 90, 97, 95, 92, 94, 96, 93, 95, 94]),
    ("Lead generation", "Qualified leads", "leads", "priya", 60, "higher", "monthly",
     [41, 48, 52, 57, 63, 66]),
    ("IP creation", "Course modules published", "modules", "founder", 1, "higher", "monthly",
     [1, 0, 1, 1, 0, 1]),
    ("Revenue generation", "Monthly revenue", "€", "founder", 40000, "higher", "monthly",
     [31500, 34200, 36900, 38100, 41250, 39800]),
    ("Revenue generation", "Annual revenue", "€", "founder", 480000, "higher", "annual",
     [310000, 402000, 436000]),
    ("Wealth generation", "Profit kept", "€", "jonas", 120000, "higher", "annual",
     [52000, 88000, 97000]),
    ("Wealth generation", "Months of runway", "months", "jonas", 6, "higher", "monthly",
     [4.1, 4.3, 4.6, 4.8, 5.0, 5.2]),
]  # fmt: skip


class Command(BaseCommand):
    help = "Load the demo operations map (idempotent) and the demo logins."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            # The demo people, a founder and an admin among them, get a published password.
            raise CommandError(
                "loaddemo is for trying Opsmodel out: it gives the demo people (a founder and "
                "an admin among them) the published password. It refuses to run with DEBUG off."
            )
        sync_roles(Group, Permission)  # the demo logins need their roles, whatever happened since
        people = self.load_people()
        software = self.load_software(people)
        systems = self.load_systems(people, software)
        processes, steps = self.load_processes(people, systems)
        self.load_sops(people, software, processes, steps)
        self.load_metrics(people, systems, processes)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo map ready: {System.objects.count()} systems, {Process.objects.count()} "
                f"processes, {Step.objects.count()} steps, {SOP.objects.count()} SOPs."
            )
        )
        self.stdout.write(f"  Founder login:     founder / {DEMO_PASSWORD}")
        self.stdout.write(f"  Team member login: member / {DEMO_PASSWORD}")

    def load_people(self) -> dict:
        User = get_user_model()
        people = {}
        for username, first, last, title, roles, staff in PEOPLE:
            user, created = User.objects.update_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "job_title": title,
                          "is_staff": staff, "is_active": True,
                          "email": f"{username}@example.com"},
            )  # fmt: skip
            if created or not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.set(Group.objects.filter(name__in=roles))
            people[username] = user
        return people

    def load_software(self, people: dict) -> dict:
        software = {}
        for name, link, category, owner, notes in SOFTWARE:
            software[name], _ = Software.objects.update_or_create(
                name=name,
                defaults={
                    "link": link,
                    "category": category,
                    "owner": people[owner],
                    "notes": notes,
                },
            )
        return software

    def load_systems(self, people: dict, software: dict) -> dict:
        systems, parent = {}, None
        for name, owner, tools, purpose in SYSTEMS:
            system, _ = System.objects.update_or_create(
                name=name, parent=parent, defaults={"owner": people[owner], "purpose": purpose}
            )
            system.software.set([software[t] for t in tools])
            systems[name] = parent = system
        return systems

    def load_processes(self, people: dict, systems: dict) -> tuple[dict, dict]:
        today = timezone.localdate()
        processes, steps = {}, {}
        positions: dict[str, int] = {}
        for system_name, name, result, owner, process_steps in PROCESSES:
            positions[system_name] = positions.get(system_name, 0) + 1
            process, _ = Process.objects.update_or_create(
                system=systems[system_name],
                name=name,
                defaults={
                    "result": result,
                    "owner": people[owner],
                    "position": positions[system_name],
                },
            )
            processes[name] = process
            for position, (step_name, step_owner, due_in) in enumerate(process_steps, start=1):
                due = today + datetime.timedelta(days=due_in) if due_in is not None else None
                steps[name, step_name], _ = Step.objects.update_or_create(
                    process=process, name=step_name,
                    defaults={"owner": people[step_owner], "due_date": due, "position": position},
                )  # fmt: skip
        return processes, steps

    def load_metrics(self, people: dict, systems: dict, processes: dict) -> None:
        today = timezone.localdate()
        for parent, name, unit, owner, target, direction, cadence, values in METRICS:
            level = (
                {"process": processes[parent]}
                if parent in processes
                else {"system": systems[parent]}
            )
            metric, _ = Metric.objects.update_or_create(
                name=name,
                **level,
                defaults={"unit": unit, "owner": people[owner], "target": target,
                          "direction": direction, "cadence": cadence},
            )  # fmt: skip
            starts = previous_starts(cadence, period_start(cadence, today), len(values))
            for start, value in zip(starts, values, strict=True):
                MetricValue.objects.update_or_create(
                    metric=metric, period=start, defaults={"value": value}
                )

    def load_sops(self, people: dict, software: dict, processes: dict, steps: dict) -> None:
        for process_name, step_name, title, owner, outcome, minutes, tools, body in SOPS:
            sop, _ = SOP.objects.update_or_create(
                process=processes[process_name], title=title,
                defaults={
                    "step": steps[process_name, step_name] if step_name else None,
                    "owner": people[owner], "outcome": outcome,
                    "estimated_minutes": minutes, "body": body,
                },
            )  # fmt: skip
            sop.software.set([software[t] for t in tools])
