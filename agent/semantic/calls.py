"""Bad calls stated confidently: targets and trade-offs no serious answer would set.

A sentence that accepts a large loss on a counter-metric (cost per request up by half, a
double-digit error or timeout rate, quality down by several points, losing a quarter of the
customers), or that makes the mean the latency goal, earns no credit and is named in the
step's notes. Small, bounded concessions ("a few percent more cost for the warm pool") are the
trade-offs the rubric asks for and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from agent.semantic.numbers import words_to_numbers
from agent.signals import (
    caseless_form,
    finditer_caseless,
    first_match,
    lowered_if_simple,
    may_match,
    required_literals,
    yes_no_checks,
)
from agent.steps import STEPS

_ACCEPT = (r"\b(?:accept\w*|allow\w*|tolerat\w*|comfortable|fine with|ok(?:ay)? with|"
           r"can flex|let (?:it|them|cost|costs|quality)|happy to|willing to|even if|"
           r"rising|rise|go(?:es)? up|increas\w*|doubl\w*|tripl\w*|up to|drop\w*|los\w*|fall\w*)")
#: What a higher cost is accepted with: _ACCEPT without the words of a fall ("falls by a third,
#: and cost per token drops 3x" is a cost going down, not a higher one accepted).
_ACCEPT_COST = (r"\b(?:accept\w*|allow\w*|tolerat\w*|comfortable|fine with|ok(?:ay)? with|"
                r"can flex|let (?:it|them|cost|costs)|happy to|willing to|even if|"
                r"rising|rise|go(?:es)? up|increas\w*|doubl\w*|tripl\w*|up to)")
#: Words between a cost and its multiplier that say the cost goes down ("cost per token drops
#: 3x", "the bill falls while throughput rises 3x"): a gap of up to ``n`` characters without them.
def _no_fall(n: int) -> str:
    return (r"(?:(?!\b(?:drop|fall|fell|cut|shrink|shrank|lower|reduc|down|sav|less|cheaper|"
            r"decreas|halv)\w*)[^.;])" + f"{{0,{n}}}")


#: (what goes wrong, pattern): each pattern looks for a large loss accepted or aimed at.
_BAD: tuple[tuple[str, re.Pattern[str]], ...] = tuple((why, re.compile(p, re.IGNORECASE)) for
                                                       why, p in (
    ("accepts a much higher cost", _ACCEPT_COST + r"[^.;]{0,50}\b(?:cost|price|spend|bill)\w*"
     + _no_fall(30) + r"(?:\b(?:[3-9]\d|\d{3,})\s*%|\bdoubl\w*|\btripl\w*|\b[2-9]x\b)"),
    ("accepts a much higher cost", r"\b(?:cost|price|spend|bill)\w*(?: per \w+)?" + _no_fall(25)
     # (present or future: "increased 40% last quarter", "doubled last year" tell what happened)
     + r"\b(?:ris(?:e|es|ing)|go(?:es|ing)? up|increas(?:e|es|ing)|grow(?:s|ing)?)\b[^.;]{0,15}"
     r"(?:\b(?:[3-9]\d|\d{3,})\s*%|\bdoubl\w*|\b[2-9]x\b)"),
    ("accepts a much higher cost", r"\b(?:cost|price|spend|bill)\w*(?: per \w+)?\s+"
     r"doubl(?:e|es|ing)\b"),
    # round 7: a bigger bill the customer is assumed to take gladly, with no figure at all
    # ("they'll happily absorb a bigger invoice", "customers won't mind paying more"); a bounded
    # one ("a slightly higher bill") is a trade-off
    ("assumes the customer will gladly pay more",
     r"\b(?:customers?|clients?|they|buyers?|users?|accounts?)\b[^.;]{0,25}"
     r"\b(?:happily|gladly|cheerfully|willingly|won't mind|will not mind|don't mind|do not mind|"
     r"won't care|happy to|glad to|absorb\w*|swallow\w*|shrug off)\b[^.;]{0,30}\b(?<!slightly )"
     r"(?<!a little )(?<!a bit )(?<!somewhat )(?<!modestly )(?:bigger|higher|larger|fatter|"
     r"heftier|steeper) (?:bill|invoice|price|prices|cost|costs|spend|charges?)\b|"
     r"\b(?:customers?|clients?|they|buyers?|users?|accounts?)\b[^.;]{0,25}"
     r"\b(?:happily|gladly|cheerfully|willingly|won't mind|will not mind|won't care)\b"
     r"[^.;]{0,20}\b(?:pay|paying|spend|spending) (?:more|extra|double|a premium)\b"),
    ("sets an error or timeout rate no customer accepts",
     r"\b(?:error|timeout|time-out|failure|failed|drop)\w*(?: rate)?[^.;]{0,40}"
     r"(?:\bup to|\bunder|\bbelow|\bof|\bat|\baround|\babout|\bbe|\bstay\w*)\s+"
     r"(?:[5-9]|[1-9]\d)(?:\.\d+)?\s*%"),
    # round 9: the share first ("I'm fine with that, even with 30% of requests timing out")
    ("sets an error or timeout rate no customer accepts",
     r"\b(?:accept\w*|tolerat\w*|fine with|ok(?:ay)? with|even with|live with|happy with|"
     r"comfortable with)\b[^.;]{0,30}\b(?:[5-9]|[1-9]\d)(?:\.\d+)?\s*% of "
     r"(?:the |all |our |their )?"
     r"(?:\w+ )?(?:requests?|calls?|queries|jobs?|users?|responses?|answers?) (?:are |were |"
     r"still |will be )?(?:tim\w* out|time-?outs?|fail\w*|error\w*|dropp\w*|giv\w* up)"),
    ("accepts a large quality drop", r"\b(?:quality|accuracy|precision|eval\w*|score)\w*[^.;]{0,40}"
     r"\b(?:drop|fall|flex|slip|lose|loss|decline|degrad)\w*[^.;]{0,25}(?:\b(?:[3-9]|[1-9]\d)"
     r"(?:\.\d+)?\s*(?:points?|%|pp)\b|\b(?:a few|several|some|many) points\b)"),
    ("accepts a large quality drop", _ACCEPT + r"[^.;]{0,30}\b(?:quality|accuracy)\b[^.;]{0,30}"
     r"\b(?:drop|fall|flex|loss|lower|worse)\w*\b(?![^.;]{0,20}\b(?:[0-2](?:\.\d+)?\s*(?:points?|"
     r"%)|a point|one point|half a point))"),
    ("accepts losing many customers", r"\b(?:accept\w*|fine with|ok(?:ay)? with|happy to)\b"
     r"[^.;]{0,30}\b(?:los\w*|churn\w*)\b[^.;]{0,30}(?:\b(?:[2-9]\d)\s*%|quarter|third|half)"),
    ("makes the mean the latency goal", r"\b(?:average|mean)\b[^.;]{0,30}\b(?:latency|response "
     r"time|processing time|end-to-end)\b[^.;]{0,60}\b(?:goal|target|success|measure\w*|track|"
     r"metric|north star|bring|down|halve|cut|is what)\b"),
    ("dismisses the tail", r"\b(?:p9\d|tail|percentiles?)\b[^.;]{0,40}\b(?:noise|pathological|"
     r"outliers? (?:only|don't)|misleading|vanity|doesn't matter|don't matter)"),
))


#: Someone picked by how hard or how often they press (round 7): "whoever pushes hardest", "the
#: team that chases me most", "the merchants that ring their account team most often",
#: "whichever segment writes the angriest emails". A person or group and a verb of pressure with
#: a superlative of force or frequency; a verb of contact (call, ring, email, ping) counts only
#: with a person as its object ("calls the API most often" is usage, not pressure) or a
#: superlative of anger, and "makes the most" is never pressure ("make the most revenue").
_PRESS_VERBS = (r"(?:push|press|lobb(?:y|ie)|chas|nag|pester|badger|hound|shout|yell|complain|"
                r"escalat|moan|grumbl|insist|demand|agitat|bang|kick|rattl|fight|beg|plead|bug|"
                r"harass|clamou?r)\w*")
_CONTACT_VERBS = r"(?:ring|rang|call|phon|e-?mail|mail|messag|text|writ|wrote|ping)\w*"
_PEOPLE = (r"(?:us|me|him|her|them|support|sales|(?:our|their|the|my|his|her) (?:\w+ )?(?:team|"
           r"desk|line|manager|rep|reps|ceo|founder|cto|people|staff|engineers?|inbox|hotline))")
_PRESS_MOST = (r"(?:most (?:often|loudly|forcefully|insistently|persistently|frequently|"
               r"aggressively|urgently|angrily)|the most\b|most\b|hardest|loudest|angriest|"
               r"harshest|fiercest|most (?:angry|furious|upset|heated|insistent|persistent|"
               r"urgent|noise|fuss|calls|emails|tickets|noise)|(?:more|most) (?:often|times)|"
               r"(?:the )?(?:biggest|loudest) (?:fuss|stink|noise|racket))")
_ANGRIEST = (r"(?:loudest|angriest|harshest|fiercest|most (?:angry|furious|upset|heated|"
             r"insistent|persistent|urgent|aggressive)|(?:the )?most (?:complaints|"
             r"escalations|angry \w+))")
_PRESSER = (r"\b(?:who(?:ever)?|which(?:ever)?|(?:the )?(?:\w+ )?(?:customers?|accounts?|"
            r"teams?|segments?|clients?|merchants?|leaders?|users?|people|sales\w*|reps?|"
            r"partners?|buyers?|groups?) (?:that|who))\b(?:\s+[\w'-]+){0,4}?\s+"
            r"(?:" + _PRESS_VERBS + r"(?:\s+[\w'-]+){0,4}?\s+" + _PRESS_MOST + "|"
            + _CONTACT_VERBS + r"\s+" + _PEOPLE + r"(?:\s+[\w'-]+){0,3}?\s+" + _PRESS_MOST + "|"
            + _CONTACT_VERBS + r"(?:\s+[\w'-]+){0,3}?\s+" + _ANGRIEST + "|"
            # "who email most often" (no object: the contact itself is the pressure)
            + _CONTACT_VERBS + r"\s+(?:the )?(?:most|more)\b|"
            r"(?:make|makes|made|making|kick|kicks|kicked|raise|raises|raised)\s+(?:the )?"
            r"(?:biggest|loudest|most|largest) (?:fuss|stink|noise|racket|row|scene))")
_GROUP = (r"(?:customers?|accounts?|merchants?|clients?|teams?|users?|voices?|segments?|"
          r"partners?|buyers?|groups?|tenants?|developers?)\b")
_SERVED_FIRST = (r"\b(?:(?:gets?|go(?:es)?|comes?|is|are|served|looked at|handled|built|done|"
                 r"answered|fixed|heard)\b(?:\s+[\w'-]+){0,5}?\s+first|first (?:pick|call|dibs|"
                 r"in line|say)|(?:to )?the front of the (?:line|queue)|sets? the (?:order|agenda|"
                 r"priorities)|decides? the (?:order|priorities)|top of (?:the|my|our) (?:list|"
                 r"roadmap|queue|pile)|jumps? the (?:queue|line)|(?:get|gets|getting) priority)\b")


#: A measure moving the wrong way, welcomed (round 7): cost, time, failures or hours going up,
#: or use, speed, quality, margin, growth or adoption going down, called a win, healthy, great,
#: a good sign, proof that it works. Which way each measure should move is general; only the
#: welcome makes it a call (a bounded cost accepted for the SLA is a trade-off, not a win).
_UP_BAD = (r"(?:costs?|bill|invoice|spend|gpu[- ]hours|machine[- ]hours|hours|latency|"
           r"response times?|wait(?:ing)? times?|errors?|failures?|timeouts?|churn|p9\d)")
_DOWN_BAD = (r"(?:utili[sz]ation|throughput|tokens? (?:per|a) second(?: per user)?|speed|"
             r"accuracy|quality|margin|revenue|retention|growth|adoption|conversion|uptime|"
             r"availability|success rate|completion rate|deploy\w* rate|(?:share|number|"
             r"percentage|proportion|fraction) of \w+(?: \w+)? (?:deployed|served|completed|"
             r"retained|kept|converted|activated|renewed|shipped|finished))")
_GO_UP = (r"(?:climb|ris|rose|grow|grew|increas|(?:go|goes|going|gone|went) up|jump|doubl|tripl|"
          r"balloon|swell|creep)\w*")
_GO_DOWN = (r"(?:drop|fall|fell|slid|slip|declin|shrink|shrank|sink|sank|dip|slow|sag|decreas|"
            r"halv|(?:go|goes|going|gone|went|come|comes|coming|came) down)\w*")
_WELCOME = (r"(?<!not )(?<!n't )(?<!no )\b(?:a win|the win|count it a win|great|healthy|"
            r"good (?:sign|news|thing)|love to see|excellent|perfect|welcome|celebrat\w*|"
            r"exactly what we want|proves?|that(?:'s| is) (?:progress|success|good)|"
            r"shows? (?:that )?(?:the|it|we|they|customers?) (?:is|are|really|only|actually)|"
            r"means (?:customers?|they|we|it)(?:'re| are| is)? (?:only|really|finally))\b")
#: Between a measure and its movement: the same clause ("latency went down and throughput went
#: up" moves two measures, each the right way).
_SAME_CLAUSE = r"(?:(?!\b(?:and|but|while|whereas|yet|though|although)\b)[^.;,]){0,30}"
#: A rise that more demand explains ("GPU hours went up 10%, healthy given traffic doubled").
_MORE_DEMAND = (r"\b(?:traffic|volume|usage|demand|load|requests?|customers?|users?)\b[^.;]{0,20}"
                r"\b(?:doubl|tripl|grew|grow|rose|ris|increas|went up|jump)\w*")
_WRONG_WAY = (r"^(?=.*" + _WELCOME + r")(?!.*" + _MORE_DEMAND + r")(?:.*\b" + _UP_BAD + r"\b"
              + _SAME_CLAUSE + r"\b" + _GO_UP + r"|.*\b" + _DOWN_BAD + r"\b" + _SAME_CLAUSE
              + r"\b" + _GO_DOWN + r")\b")


#: Calls that are wrong whatever the case, in the steps where they are plans (step, why, pattern).
_WRONG: tuple[tuple[frozenset[str], str, re.Pattern[str]], ...] = tuple(
    (frozenset(steps.split()), why, re.compile(p, re.IGNORECASE)) for steps, why, p in (
        ("diagnose prioritize", "ranks one cause with nothing behind it",
         r"\b(?:there(?:'s| is)(?:n't| not)? (?:no |a )?|(?:with )?no |nothing |isn't a )"
         r"(?:strong |credible |close |real |serious |plausible )?(?:second|runner-up)\b|"
         r"\bnothing (?:else )?close behind\b|\bfull stop\b|\bno other (?:explanation|cause)\b|"
         # round 7: the same certainty in other words ("I don't need a second theory",
         # "nothing else comes close", "no need to look further")
         r"\b(?:don't|do not|won't|no) need (?:for )?(?:a |any |an )?(?:second|other|another|"
         r"alternative|backup|competing|further) (?:theory|theories|hypothes\w+|explanation\w*|"
         r"cause\w*|suspects?|ideas?|options?)\b|\bnothing else (?:comes|is) (?:close|near)\b|"
         r"\bno (?:need|reason) to look (?:any ?)?(?:further|elsewhere|at anything else)\b|"
         # a second trial: the cause taken as settled, the check refused ("we do not need to
         # check anything", "so we skip measuring")
         r"\b(?:(?:don't|do not|won't|will not) need to|no (?:need|point|reason) to|"
         r"(?:we|i)(?:'ll)? skip|without) (?:\w+ )?(?:check\w*|verif\w*|confirm\w*|"
         r"measur\w*|test\w*|investigat\w*|look\w*)"
         r"(?: (?:anything|it|that|this|first|further))?\s*(?:[.,;!]|$)"),
        ("clarify", "makes the mean the latency goal",
         r"\b(?:objective|target|goal|work to|optimi[sz]e for)\b[^.;]{0,40}\b(?:average|mean)\b"
         r"|\b(?:average|mean)\b[^.;]{0,40}\b(?:latency|response time)\b[^.;]{0,30}\b(?:objective|"
         r"target|goal)\b"),
        ("goals validate", "makes the mean the latency goal",
         r"\b(?:average|mean)\b[^.;]{0,40}\b(?:latency|response time|processing time|"
         r"end-to-end)\b|\b(?:latency|response time)\b[^.;]{0,40}\b(?:an? |the )(?:average|mean)"
         r"\b|\b(?:average|mean) of \d+\s*ms\b"),
        # (stop salad2: also in validate, and "everything", "the whole job"; not a way back,
        # nor a cut-over that waits on a condition: "if it is cheaper, we move everything over")
        ("solutions validate", "rolls out to everyone at once",
         r"^(?!\s*(?:and |so |then )?(?:if|when|once|after|as soon as|only|provided|assuming)\b)"
         r"(?!.*\b(?:if|(?<!at )once|only after|only when|as soon as|provided)\b).*?"
         r"\b(?:roll(?![\s-]*back)\w*|switch\w*|mov\w*|ship\w*|cut\w* over|deploy\w*|"
         r"publish\w*|flip\w*|migrat\w*|put|puts|putting|send\w*|sent|swap\w*|"
         r"transfer\w*)\b(?![^.;]*\b(?:back|revert\w*)\b)[^.;]{0,40}"
         r"\b(?:all (?:of )?(?:their |our |the )?(?:traffic|customers|users|jobs?|tenants|"
         r"requests|workloads?)|(?:the )?(?:full|whole|entire) (?:traffic|nightly job|fleet|job|"
         r"workload|batch)|everything|everyone|everybody|at once|in one go|across the board|"
         r"platform-wide)"
         # trial 17: "we switch every customer to a smaller model and new hardware at the same
         # time, and rewrite the serving stack in the same release"; not a phased move
         r"|^(?!.*\b(?:one (?:\w+ )?at a time|cohorts?|phas\w*|gradual\w*|stages?|staged|waves?|"
         r"canar\w*|pilot\w*|percent|slices?|eventually|later|over (?:a|the next|several))\b)"
         r"(?!.*%).*?\b(?:switch\w*|mov\w*|migrat\w*|swap\w*|roll(?![\s-]*back)\w*|"
         r"cut\w* over|flip\w*)\b[^.;]{0,40}\b(?:every (?:customer|user|tenant|account|"
         r"workload|deployment)s?|at the same time|simultaneously|(?:in|with) (?:the same|one|"
         r"a single) release)\b"),
        # stop salad2: every metric improved many times over, at once ("make everything 10x
        # better", "all of it five times better") is no target: it ranks nothing
        ("goals prioritize", "asks for everything many times better at once",
         r"\b(?:everything|every (?:metric|number|kpi)|all (?:of )?(?:it|them|these|those|the "
         r"(?:metrics|numbers|kpis))|all metrics)\b[^.;:]{0,25}?\b(?:\d+(?:\.\d+)?\s*x|\d+ "
         r"times|\w+fold)\s+(?:better|faster|cheaper|lower|higher|more efficient|improved)\b"
         r"(?=\s*(?:[:,.;!]|$|at once|together|across|in one go|and\b|within\b|in \w+ weeks?\b))"),
        ("goals prioritize solutions", "claims there is no trade-off",
         # (not "little": "costs us little" names a small cost; a trial's answer that named
         # three more was marked down as claiming none)
         r"\b(?:giving up|give up|sacrific\w*|trad\w* off|los(?:e|ing)|cost(?:s)? us) nothing\b|"
         r"\b(?:free of risk|risk-free|no risk|zero risk|without any risk)\b|"
         r"\bno (?:real |meaningful )?trade-?offs?\b"),
        # stop 29: an option said to cost nothing ("FP8 has zero quality loss on every model",
        # "speculative decoding always gives 3x with no downside": level 1 of Trade-offs,
        # "presented as free"), unless it is what a check is to show ("verify there's no quality
        # loss", "as long as the evals show no drop"); false in a diagnosis or a test plan too
        ("diagnose goals prioritize solutions validate", "claims an option costs nothing",
         r"^(?!.*\b(?:if|unless|as long as|provided|assuming|whether|check\w*|verif\w*|"
         r"confirm\w*|ensur\w*|make sure|measur\w*|test\w*|evals?|prove\w*|show\w*|"
         r"validat\w*|expect\w*|hope\w*|aim\w*|target\w*|goal)\b).*?(?:\b(?:zero|0|no|without "
         r"(?:any )?)\s+(?:\w+\s+)?(?:quality|accuracy) (?:loss|drop|hit|impact|penalty|"
         r"regression|cost)\b|\b(?:zero|0|no|without (?:any )?)(?:\s+(?:real|actual))? "
         r"downsides?\b)"),
        # round 11: a risk named and taken back in one breath ("It could go wrong, but it
        # can't", "it might slow things down, though it won't") presents the option as free;
        # a remedy after it ("but it won't if we check the evals first") is no such claim
        ("diagnose goals prioritize solutions validate", "claims an option costs nothing",
         r"\b(?:could|might|may|can)\s+(?:\w+\s+){0,2}?(?:go wrong|fail|break|hurt|cost|slow|"
         r"drop|lose|risk|delay|degrade|regress)\w*\b[^.;?]{0,40}?\s*\b(?:but|though|yet)\s+"
         r"(?:it|that|this|they)\s+(?:can(?:'|’)?t|cannot|can not|won(?:'|’)t|will not|never "
         r"(?:will|would|can|could|does|do)|doesn(?:'|’)t|does not|don(?:'|’)t|do not)"
         r"(?:\s+(?:really|actually|ever|happen))*\s*(?:[,.;!]|$)(?!\s*(?:if|unless|as long as|"
         r"when|once|until|provided)\b)"),
        ("solutions", "plans nothing past the quick fix",
         r"\b(?:no|don't see a|nothing further)\b[^.;]{0,30}\b(?:longer-term|long-term|roadmap|"
         r"platform investment|needed)\b|\bover-engineering\b"),
        ("clarify diagnose prioritize", "ranks the work by who complains loudest",
         r"\b(?:rank\w*|priorit\w+|order\w*|sequenc\w*|decid\w*)\b[^.;]{0,40}\bby (?:who(?:ever)?|"
         r"which (?:customers?|accounts?))\b(?: is| are)?[^.;]{0,15}\b(?:shout\w*|loud\w*|"
         r"escalat\w*|complain\w*|nois\w*|vocal)|"
         r"\bloudest (?:voice|customer|account)s?\b[^.;]{0,60}\b(?:roadmap|priorit\w*|first|top)\b|"
         # Round 9: the same with any group, and with the pick named first ("my first pick is
         # whatever the loudest merchant wants")
         r"\b(?:first|pick|priorit\w*|top|roadmap)\b[^.;]{0,40}\b" + _ANGRIEST + r" (?:\w+ )?"
         + _GROUP + r"\s+(?:\w+\s+)?(?:wants?|asks? for|demands?|says?|push\w* for)\b|\b"
         + _ANGRIEST + r" (?:\w+ )?" + _GROUP + r"\s+(?:\w+\s+){0,2}(?:go|goes|get|gets|come|comes|"
         r"is|are|move|moves)\s+(?:\w+\s+){0,3}(?:first|(?:to )?the top|top of)\b|"
         r"\b(?:is|are) the loudest\b[^.;]{0,30}\b(?:so|go(?:es)? to the top|first)\b|"
         r"\b(?:priority|roadmap) (?:is|goes to) the loud(?:est)?\b|"
         r"\b(?:nobody|no one|no-one)(?: is)? (?:shouting|yelling|escalating)\b[^.;]{0,30}"
         r"\b(?:can't|cannot|isn't|is not|won't)\b[^.;]{0,15}\burgent|"
         # Round 7: the idea, not the word "loud": whoever presses hardest or most often (any
         # way of pressing: calls, mails, chasing, lobbying) is served first.
         + _PRESSER + r"[^.;]{0,80}" + _SERVED_FIRST + "|" + _SERVED_FIRST + r"[^.;]{0,40}"
         + _PRESSER),
        ("goals validate", "measures success by vanity metrics",
         r"\b(?:know|measur\w*|track\w*|count\w*|judg\w*|success|worked|show\w*|look at|"
         r"watch\w*|scoreboard)\b"
         r"[^.;]{0,60}\b(?:page ?views?|sign-?ups?|social(?: media)? mentions?|mentions on social|"
         r"time (?:spent )?(?:on|in) (?:the )?(?:site|page|\w+ dashboard|dashboard|product)|"
         r"share(?:-button)? clicks|press (?:release|coverage)|testimonials?|"
         r"blog(?: post)? traffic|(?:github |repo )?stars|likes|followers|retweets|"
         r"upvotes|re-?posts|downloads? (?:count|numbers?)|(?:the )?download count|"
         r"(?:number of |count of )?(?:visits|views)|thank-you (?:notes?|emails?|messages?)|"
         r"(?:positive )?(?:posts|tweets|headlines|press mentions))\b"),
        ("solutions validate", "skips validation",
         # stop salad2: a test or a way back said to be never needed ("rollback is never needed
         # for hardware", "going back will never be necessary", "we don't need to test")
         r"\b(?:(?:don't|do not|won't|will not|wouldn't|doesn't|does not|never|no) need to|"
         r"no (?:reason|point|need) to|(?:there's|there is) no (?:reason|point|need) to)\s+"
         r"(?:\w+\s+){0,2}?(?:test|validate|verify|canary|pilot|stage|trial|try it|compare|"
         r"keep a way back|plan a way back|plan a rollback)\b|"
         r"\b(?:rollbacks?|roll(?:ing)? back|a rollback plan|going back|switching back|a way back|"
         r"moving back|tests?|testing|validation|canar(?:y|ies)|a/b tests?|a pilot|staging)\b"
         r"[^.;]{0,30}\b(?:(?:is|are|will be|would be|'s)\s+(?:never|not ever|hardly ever|"
         r"rarely)|(?:will|would) never be)\s+(?:needed|necessary|required|useful|worth it|"
         r"worth)\b|"
         r"\b(?:no|never|wouldn't|won't|don't|not|skip|no need for|no reason to)\b"
         # (not past a condition: "it won't if we check the evals first" names a check)
         r"(?:\s+(?!(?:on|in|from|by|across|against|at|per|than|if|unless|when|once|until|"
         r"provided|as long as)\b)[\w/-]+){0,4}?\s+"
         r"(?:canary|canaries|a/?b\b|evals?\b|eval suite|golden eval|"
         r"rollback|stag\w+|shadow|parallel run|side by side|pilot)|\b(?:canary|rollback|a/b)"
         r"[^.;?]{0,20}[?]?\s*(?:not needed|unnecessary|overkill)\b|"
         r"\b(?:customers?|they)(?:'ll| will) tell us\b|"
         # trial 17: the test as a noun said not to be needed or worth it ("We don't need a
         # test", "A/B tests are a waste of time"), not a test's setting ("a test environment")
         r"\b(?:don't|do not|won't|will not|doesn't|does not|never)\s+need\s+(?:a|an|any)\s+"
         r"(?:tests?|canary|pilot|trial|rollback(?: plan)?|staging step|a/b tests?|validation)\b"
         r"(?!\s+(?:suite|environment|env|rewrite|framework|harness|team|cluster|account))|"
         r"\b(?:tests?|testing|a/b tests?|a/b testing|canar(?:y|ies)|pilots?|validation|"
         r"rollbacks?(?: plans?)?|rollback plans?)\s+(?:is|are)\s+(?:just\s+|only\s+|simply\s+)?"
         r"(?:a\s+|an\s+)?(?:waste of (?:time|money)|pointless|useless|overkill|unnecessary)\b|"
         # waved off as for other, lesser people: "rollback is for people who make mistakes"
         r"\b(?:canar(?:y|ies)|rollbacks?|roll-?backs?|a/b tests?|a/b testing|evals?|testing|"
         r"tests|staging|shadow(?:ing)?|guardrails?|kill switch(?:es)?)(?:\s+plans?)?\s+"
         r"(?:is|are)\s+(?:only\s+|just\s+)?for\s+(?:amateurs|beginners|juniors|cowards|"
         r"the (?:timid|nervous|scared|paranoid)|"
         r"(?:people|those|teams|folks|companies|engineers)\s+(?:who|that)\s+"
         r"(?:make mistakes|ship bugs|break things|get (?:it|things) wrong|can['’]?t code|"
         r"(?:don['’]t|do not) trust|(?:aren['’]t|are not) (?:sure|confident)|lack confidence|"
         r"are (?:scared|afraid|nervous|paranoid)))\b"),
        ("goals prioritize solutions validate", "calls a metric moving the wrong way a win",
         _WRONG_WAY),
        # (not when the customer is said to have agreed: "... which the customer said is fine")
        ("goals prioritize solutions", "spends the quality the customer protects",
         r"^(?!.*\b(?:said|agreed|signed off|confirmed|told us|asked for|okayed|approved)\b)"
         r".*?(?:\b(?:trade|spend|give|hand|sacrific|gambl|bargain|sell|burn)\w*"
         r"(?: (?:up|away|over))?"
         r"\b[^.;]{0,30}\b(?:points?|chunk|bit|slice|some|part|much|lot) of (?:their |the |our )?"
         r"(?:\w+ )?(?:accuracy|quality)\b|\b(?:accuracy|quality)(?: \w+)? (?:is|are) (?:the )?"
         r"(?:cheapest|easiest|first) (?:thing|lever|place)? ?(?:to )?(?:spend|give|trade|cut|"
         r"sacrifice|lose)\b)"),
    ))
#: A hypothesis dismissed outright ("caching won't help", "idle capacity: not a factor").
DISMISSAL = re.compile(
    r"\b(?:rule[sd]? (?:it |that |this )?out|won't help|will not help|(?:is|are)(?:n't| not) a "
    r"factor|not a factor|irrelevant|(?:is|are)(?:n't| not) the (?:issue|problem|story|bottleneck)"
    r"|unlikely to be the (?:story|issue|cause)|(?:is|are)(?:n't| not) in the picture|"
    r"barely matters?|(?:is|are) noise|"
    # ... in everyday words (trial 12: "is not what's hurting us", "Memory is fine", "Forget
    # memory", "I don't think memory is the problem", "won't buy us anything", "I wouldn't
    # bother with a cache", "pointless")
    r"(?:is|are)(?:n't| not) what(?:'s| is| are|'re) (?:hurting|slowing|causing|driving|killing|"
    r"holding)|(?:is|are) (?:fine|ok|okay|healthy|under control)(?= *(?:[.;!]|$))|"
    r"forget (?:about )?|(?:don't|do not) think\b[^.;:]{0,40}\b(?:is|are|was) (?:the|a|our) "
    r"(?:issue|problem|bottleneck|cause|culprit)|won't (?:buy|get|save) us (?:anything|much)|"
    r"(?:wouldn't|would not|don't|do not|won't|needn't) (?:even )?bother (?:with|about)|"
    r"(?:is|are) (?:pointless|useless|a waste of time)|"
    # ... or by pointing at it (stop 32: "Caching the prefix? Plenty of headroom, so I'd skip
    # that.", what it points at in the clause or sentence before: :func:`dismisses_clue`)
    r"(?:i'd|i would|we'd|we would|i'll|we'll|let's|i|we) (?:just )?skip (?:that|it|this)|"
    r"(?:is|isn't|'s|'s not|is not) (?:not )?worth (?:it|the effort|bothering)|"
    r"not worth (?:it|the effort|bothering)|"
    # ... or softly, in a calm voice ("a small part of it", "a secondary detail", "a symptom"),
    # unless the soft word is itself negated ("not a small part of it")
    r"(?<!not )(?<!not a )(?<!n't )(?<!n't a )(?<!never )(?<!never a )(?:(?:a |only a |just a |"
    r"fairly )?(?:small|minor) (?:part|piece|factor|contributor)|(?:a |just a |only a )?secondary "
    r"(?:detail|issue|factor|concern)|(?:a |just a |only a )symptom|treats? the symptom|"
    r"nice[- ]to[- ]haves?|(?:a )?red herring|(?:a )?distraction|(?:a )?side issue|"
    r"(?:a )?sideshow))\b", re.IGNORECASE)
#: ... but not a negated validation that is itself the good practice ("never ship without").
_SAFE = re.compile(r"\b(?:never|not|don't|won't|wouldn't)\b[^.;]{0,30}\bwithout\b", re.IGNORECASE)


#: Round 9: a loss named as the condition that sends us back is a rollback trigger, not a loss
#: accepted ("if errors rise or quality drops, everybody goes back to the old setup"): the loss
#: sits in an if/when clause and the sentence answers it by going back or stopping. The clause
#: may name several losses ("If we're still breaking it in more than 5% of peak minutes, or
#: the cost goes up more than 30%, I'd stop and rethink": 67 characters before the cost).
_CONDITION_BEFORE = re.compile(
    r"\b(?:if|when|whenever|should|as soon as|the moment)\b[^.;:]{0,160}$", re.IGNORECASE)
_GO_BACK = re.compile(r"\b(?:(?:go|goes|going|went|switch\w*|move\w*|route\w*|roll\w*|flip\w*|"
                      r"put\w*|send\w*) (?:\w+ ){0,3}back|rollback|revert\w*|undo|"
                      r"(?:switch|turn)\w* (?:\w+ ){0,3}off|stop\w*|paus\w*|halt\w*|abort\w*)\b",
                      re.IGNORECASE)

_NOT_BEFORE = re.compile(r"\b(?:not|never|no|don't|won't|wouldn't|doesn't|didn't|can't|cannot)"
                         r"\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


def _trigger(text: str, m: re.Match[str]) -> bool:
    """Is this match the condition of a going-back or stopping rule (see _CONDITION_BEFORE)?"""
    if not _CONDITION_BEFORE.search(text[:m.start()]):
        return False
    rest = text[m.end():]
    return any(not _NOT_BEFORE.search(rest[:g.start()]) for g in _GO_BACK.finditer(rest))


@lru_cache(maxsize=8192)
def bad_call(sentence: str) -> str | None:
    """Why this sentence is a bad call (see the module docstring), or None."""
    text = words_to_numbers(sentence)
    low = lowered_if_simple(text)
    for (why, pattern, needs), fast in zip(_bad_checks(), _bad_fast(), strict=True):
        if may_match(needs, low) and (fast is None or low is None or fast.search(low)) \
                and any(not _trigger(text, m) for m in pattern.finditer(text)):
            return why
    return None


@lru_cache(maxsize=1)
def _bad_fast() -> tuple[re.Pattern[str] | None, ...]:
    """Each of :func:`_bad_checks`' expressions in its form for lower-cased simple text
    (signals.caseless_form; None when it has none): whether it matches at all is found faster
    there, and most sentences that hold its strings hold no match."""
    return tuple(caseless_form(pattern) for _, pattern, _ in _bad_checks())


@lru_cache(maxsize=1)
def _bad_checks() -> tuple[tuple[str, re.Pattern[str], frozenset[str] | None], ...]:
    """:data:`_BAD`, each pattern with the strings one of which any match holds
    (:func:`agent.signals.required_literals`): most sentences hold none of them, and a substring
    test is far cheaper than the search (worked out on first use, not at import)."""
    return tuple((why, p, required_literals(p.pattern)) for why, p in _BAD)


@lru_cache(maxsize=1)
def _wrong_checks() -> tuple[tuple[frozenset[str], str, re.Pattern[str],
                                   frozenset[str] | None], ...]:
    """:data:`_WRONG` with each pattern's literal strings (see :func:`_bad_checks`)."""
    return tuple((steps, why, p, required_literals(p.pattern)) for steps, why, p in _WRONG)


#: Round 7: a cause waved away in any of the everyday ways of saying "it is small, it is not the
#: cause, it is somebody else's" ("a footnote", "a rounding error", "neither here nor there",
#: "doesn't move the needle", "not where the money goes", "paperwork, not a cause", "a curiosity
#: rather than a cause", "their concern, not ours"); not when the minimiser is itself negated.
MINIMISER = re.compile(
    r"\b(?:(?:a |just a |only a |merely a )?(?:footnote|rounding error|blip|curiosity|"
    r"technicality|formality|fluke|non-?issue|non-?factor|"
    r"(?:tiny |thin |small )?sliver)|neither here nor there|beside the point|no big deal|"
    r"(?:(?:does|do|will|would)(?:n't| not)|won't) (?:move the needle|matter much|matter|"
    r"change much)|"
    r"(?:is|are)(?:n't| not) where (?:the|our|their) (?:money|time|cost|delay|problem|trouble|"
    r"pain|latency)\b|not where (?:the|our|their) (?:money|time|cost|delay|problem|trouble|"
    r"pain)|(?:rather than|not) (?:a|the) (?:cause|driver|culprit|root cause|reason)|"
    r"(?:just|only|merely|simply) (?:part of (?:the|life|doing)|paperwork|noise|background|"
    r"the cost of|a fact of life|how (?:it|things) (?:is|are|works?))|bad luck|"
    r"(?:their|the customers?'?|someone else's|somebody else's) (?:concern|problem|"
    r"business|lookout),? not ours|not worth (?:chasing|a look|looking at|the time|the effort|"
    r"worrying about|a (?:huddle|meeting|second look))|non-?problem|imaginary|"
    r"(?:a )?problem that (?:mostly |largely |really |barely )?(?:doesn't|does not|"
    r"didn't|isn't there))", re.IGNORECASE)
_NEGATED_BEFORE = re.compile(r"\b(?:not|n't|never|no|hardly)\s+(?:\w+\s+)?$", re.IGNORECASE)


def minimised(sentence: str) -> list[str]:
    """What the sentence waves away in everyday words (:data:`MINIMISER`): for each minimiser
    not itself negated, the words before it in its clause (the thing waved away)."""
    out = []
    for m in finditer_caseless(MINIMISER, _caseless()[1], sentence):
        head = re.split(r"[;:]", sentence[:m.start()])[-1]
        inherent = re.search(r"\bnot\b|n't|rather than", m.group(0), re.IGNORECASE)
        if inherent or not _NEGATED_BEFORE.search(head):
            out.append(head)
    return out


#: Where the clause of a dismissal begins, looking back from it: a semicolon, colon or dash, or
#: a comma before a new subject or a linking word ("The KV cache is the problem, the tokenizer
#: is irrelevant"), not a comma around an aside ("Caching, honestly, won't help").
_CLAUSE_BEFORE = re.compile(
    r"[;:\u2014\u2013]|\s-\s|,\s+(?=(?:the|a|an|our|their|its|it|this|that|these|those|but|"
    r"and|while|whereas|so|though|although|yet|whatever|which|i|we|they|you)\b)", re.IGNORECASE)
#: A dismissal whose subject points back to the clause before ("..., though I suspect that's a
#: small part of it"): that clause names what is waved away.
_POINTS_BACK = re.compile(r"\b(?:that|it|this|they|these|those)(?:'s|'re|\s+(?:is|are|was|were|"
                          r"seems?|looks?|feels?))?\s*$", re.IGNORECASE)
#: ... and where it ends, looking on: any comma or stronger stop ("Raw FLOPs aren't the issue,
#: memory is" dismisses the FLOPs only).
_CLAUSE_AFTER = re.compile(r"[,;:\u2014\u2013]|\s-\s")


def dismissed_clauses(sentence: str) -> list[str]:
    """The clause of each outright dismissal (:data:`DISMISSAL`) in the sentence: what it waves
    away is named there, before it ("Memory isn't the issue") or after it ("rule out
    caching"), not in another clause of the sentence ("Compute isn't the bottleneck; memory
    is")."""
    out = []
    for m in finditer_caseless(DISMISSAL, _caseless()[0], sentence):
        before = sentence[:m.start()]
        starts = [0] + [b.end() for b in _CLAUSE_BEFORE.finditer(before)]
        if len(starts) > 1 and _POINTS_BACK.search(before[starts[-1]:]):
            starts.pop()  # "storage ..., though I suspect that's a small part of it"
        after = sentence[m.end():]
        stop = _CLAUSE_AFTER.search(after)
        out.append(sentence[starts[-1]:m.end() + (
            stop.start() if stop else len(after))])
    return out


#: A dismissal that names nothing of its own but points ("I'd skip that", "it won't help").
_POINTER = re.compile(r"\b(?:that|it|this)\b", re.IGNORECASE)


def dismisses_clue(sentence: str, clues: Sequence[Sequence[str]], before: str = "") -> bool:
    """The sentence dismisses a cause outright, and what it dismisses is a clue: a cause the
    case's facts point to (``clues``: each clue fact's keyword and ``dismissed`` patterns),
    named in the dismissal's own clause (:func:`dismissed_clauses`). A dismissal that names
    nothing and points ("so I'd skip that") waves away what the sentence says before it, or
    the question ``before`` it that raised the subject ("Caching the prompt prefix? There's
    plenty of memory headroom, so I'd skip that."). An everyday minimiser counts when
    the clue is what it waves away (named before it in the clause)."""
    low = lowered_if_simple(sentence)
    dismissal, minimiser = _clue_needs()
    if may_match(dismissal, low):
        for clause in dismissed_clauses(sentence):
            if any(first_match(tuple(k), clause) for k in clues):
                return True
            if _POINTER.search(clause):
                head = sentence[:sentence.find(clause)]
                raised = before if before.rstrip().endswith("?") else ""
                if any(first_match(tuple(k), t) for t in (head, raised) if t for k in clues):
                    return True
    return may_match(minimiser, low) and any(
        first_match(tuple(k), head) for head in minimised(sentence) for k in clues)


@lru_cache(maxsize=1)
def _safe_needs() -> frozenset[str] | None:
    """The literal strings of _SAFE (see :func:`_bad_checks`)."""
    return required_literals(_SAFE.pattern)


@lru_cache(maxsize=1)
def _caseless() -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """DISMISSAL and MINIMISER in their forms for lower-cased simple text
    (signals.caseless_form), worked out once: signals.finditer_caseless finds the same matches
    with them, about twice as fast."""
    return caseless_form(DISMISSAL), caseless_form(MINIMISER)


@lru_cache(maxsize=1)
def _clue_needs() -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The literal strings of DISMISSAL and MINIMISER (see :func:`_bad_checks`)."""
    return required_literals(DISMISSAL.pattern), required_literals(MINIMISER.pattern)


@lru_cache(maxsize=16384)
def wrong_in_a_step(sentence: str) -> bool:
    """Whether this sentence is a wrong call in any step after clarify (what scoring across the
    interview asks of every sentence: one cached answer a sentence, not one per step)."""
    return any(wrong_call(sentence, step) is not None for step in STEPS[1:])


@lru_cache(maxsize=8192)
def wrong_call(sentence: str, step: str) -> str | None:
    """Why this sentence, in this step, is a bad call or a call no serious answer makes (the
    mean as the latency goal, one cause with nothing behind it, everything switched at once,
    validation skipped), or None."""
    why = bad_call(sentence) if step != "clarify" else None  # clarify states constraints
    if why is not None:
        return why
    checks = _wrong_checks()
    for i in _wrong_hits(sentence):
        steps, why, _, _ = checks[i]
        if step in steps:
            return why
    return None


@lru_cache(maxsize=8192)
def _wrong_hits(sentence: str) -> tuple[int, ...]:
    """Which of :func:`_wrong_checks` match this sentence (read with numbers as digits), in
    their order; none when it reads as a safe call. Each expression is searched once a
    sentence, not once for every step it belongs to (every sentence is asked about every
    step: :func:`wrong_in_a_step`)."""
    text = words_to_numbers(sentence)
    low = lowered_if_simple(text)
    if may_match(_safe_needs(), low) and _SAFE.search(text):
        return ()
    return tuple(i for i, ((_, _, _, needs), parts) in enumerate(
                 zip(_wrong_checks(), _wrong_parts(), strict=True))
                 if may_match(needs, low) and any(
                     may_match(part_needs, low) and (
                         fast.search(low) if fast is not None and low is not None
                         else part.search(text)) for part, fast, part_needs in parts))


@lru_cache(maxsize=1)
def _wrong_parts() -> tuple[tuple[tuple[re.Pattern[str], re.Pattern[str] | None,
                                        frozenset[str] | None], ...], ...]:
    """Each of :func:`_wrong_checks`' expressions as its top-level alternatives
    (signals.yes_no_checks: only whether it matches is asked), each with its form for
    lower-cased simple text (signals.caseless_form; None when it has none) and the strings one
    of which a sentence it matches holds: only the alternatives whose strings occur are
    searched, and the same matches are found faster."""
    out = []
    for _, _, pattern, _ in _wrong_checks():
        parts = yes_no_checks(pattern)
        out.append(tuple((part, caseless_form(part), needs if len(parts) > 1 else None)
                         for part, needs in parts))
    return tuple(out)
