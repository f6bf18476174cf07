//! A parent with two `children` fields of one model type: hooks tell the collections apart
//! by `Parents::field` (every hook of both fields got the same parents before).

use std::sync::Mutex;

use statesync::sync::{
    Adapter, AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Hooks, Parents,
    SyncModel, SyncOptions,
};
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Firewall {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ingress: Store<Rule>,
    #[statesync(children, rename = "outbound")]
    egress: Store<Rule>,
}

/// A rule has children of its own, empty in every case here: walking them must not move
/// the firewall's field (the blocking engine walks a childless element's empty fields
/// without entering it).
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rule {
    #[statesync(id)]
    seq: u32,
    action: String,
    #[statesync(children)]
    notes: Store<Note>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Note {
    #[statesync(id)]
    text: String,
}

fn rule(seq: u32, action: &str) -> Rule {
    Rule {
        seq,
        action: action.into(),
        notes: Store::new(),
    }
}

fn firewall(name: &str, ingress: &[Rule], egress: &[Rule]) -> Firewall {
    Firewall {
        name: name.into(),
        ingress: Store::try_from_iter(ingress.iter().cloned()).unwrap(),
        egress: Store::try_from_iter(egress.iter().cloned()).unwrap(),
    }
}

/// Every rule call as `op field seq`, with the firewall call as `op firewall name`.
#[derive(Default)]
struct Calls(Mutex<Vec<String>>);

impl Calls {
    fn rule(&self, op: &str, rule: &Rule, parents: &Parents) {
        let field = parents.field().unwrap_or("none");
        self.0
            .lock()
            .unwrap()
            .push(format!("{op} {field} {}", rule.seq));
    }

    fn firewall(&self, op: &str, firewall: &Firewall, parents: &Parents) {
        assert_eq!(parents.field(), None, "a root is in no field");
        self.0
            .lock()
            .unwrap()
            .push(format!("{op} firewall {}", firewall.name));
    }

    fn sorted(&self) -> Vec<String> {
        let mut calls = self.0.lock().unwrap().clone();
        calls.sort();
        calls
    }
}

impl Adapter for Calls {}

impl Hooks<Firewall> for Calls {
    fn create(&mut self, model: &Firewall, parents: &Parents) -> Result<(), HookError> {
        self.firewall("create", model, parents);
        Ok(())
    }

    fn delete(&mut self, model: &Firewall, parents: &Parents) -> Result<(), HookError> {
        self.firewall("delete", model, parents);
        Ok(())
    }
}

impl Hooks<Rule> for Calls {
    fn create(&mut self, model: &Rule, parents: &Parents) -> Result<(), HookError> {
        self.rule("create", model, parents);
        Ok(())
    }

    fn update(
        &mut self,
        model: &Rule,
        _: &RuleChanges,
        parents: &Parents,
    ) -> Result<(), HookError> {
        self.rule("update", model, parents);
        Ok(())
    }

    fn delete(&mut self, model: &Rule, parents: &Parents) -> Result<(), HookError> {
        self.rule("delete", model, parents);
        Ok(())
    }
}

impl Hooks<Note> for Calls {}

impl AsyncAdapter for Calls {}

impl AsyncHooks<Note> for Calls {}

impl AsyncHooks<Firewall> for Calls {
    async fn create(&self, model: &Firewall, parents: &Parents) -> Result<(), HookError> {
        self.firewall("create", model, parents);
        Ok(())
    }

    async fn delete(&self, model: &Firewall, parents: &Parents) -> Result<(), HookError> {
        self.firewall("delete", model, parents);
        Ok(())
    }
}

impl AsyncHooks<Rule> for Calls {
    async fn create(&self, model: &Rule, parents: &Parents) -> Result<(), HookError> {
        self.rule("create", model, parents);
        Ok(())
    }

    async fn update(
        &self,
        model: &Rule,
        _: &RuleChanges,
        parents: &Parents,
    ) -> Result<(), HookError> {
        self.rule("update", model, parents);
        Ok(())
    }

    async fn delete(&self, model: &Rule, parents: &Parents) -> Result<(), HookError> {
        self.rule("delete", model, parents);
        Ok(())
    }
}

/// Updates, creates and deletes in both fields (rule 10 moves from one to the other),
/// then a renamed root: its rules are deleted and created with it.
fn cases() -> Vec<(Firewall, Firewall, Vec<&'static str>)> {
    let before = firewall(
        "fw",
        &[rule(1, "allow"), rule(10, "deny")],
        &[rule(1, "allow"), rule(2, "deny")],
    );
    let after = firewall(
        "fw",
        &[rule(1, "deny")],
        &[rule(1, "allow"), rule(2, "allow"), rule(10, "deny")],
    );
    let renamed = firewall(
        "fw2",
        &[rule(1, "deny"), rule(5, "allow")],
        &[rule(3, "deny"), rule(4, "deny")],
    );
    vec![
        (
            before,
            after.clone(),
            vec![
                "create outbound 10",
                "delete ingress 10",
                "update ingress 1",
                "update outbound 2",
            ],
        ),
        (
            after,
            renamed,
            vec![
                "create firewall fw2",
                "create ingress 1",
                "create ingress 5",
                "create outbound 3",
                "create outbound 4",
                "delete firewall fw",
                "delete ingress 1",
                "delete outbound 1",
                "delete outbound 10",
                "delete outbound 2",
            ],
        ),
    ]
}

#[test]
fn hooks_tell_two_fields_of_one_model_apart() {
    for (target, source, expected) in cases() {
        let calls = Calls::default();
        let mut adapter = calls;
        let mut memory = target.clone();
        let report = memory
            .sync_from(&source, &mut adapter, SyncOptions::default())
            .unwrap();
        assert!(report.is_success(), "{report}");
        assert_eq!(adapter.sorted(), expected);
        assert_eq!(memory, source);
    }
}

#[test]
fn async_hooks_tell_two_fields_of_one_model_apart() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (target, source, expected) in cases() {
        for max_in_flight in [1, 8] {
            let calls = Calls::default();
            let mut memory = target.clone();
            let options = AsyncSyncOptions::default().max_in_flight(max_in_flight);
            let report = runtime
                .block_on(memory.sync_from_async(&source, &calls, options))
                .unwrap();
            assert!(report.is_success(), "{report}");
            assert_eq!(calls.sorted(), expected, "max_in_flight {max_in_flight}");
            assert_eq!(memory, source);
        }
    }
}

/// Plans and entries name the children field of an element whose parent has another
/// children field of its model: a rule moved from one field to the other rendered as
/// `- rule[seq=10]` and `+ rule[seq=10]`, and a rule in either read the same.
#[test]
fn plans_name_the_field_where_two_fields_hold_one_model() {
    let before = firewall("fw", &[rule(10, "deny")], &[]);
    let after = firewall("fw", &[], &[rule(10, "deny")]);
    let moved = before.diff(&after).unwrap();
    let plan = moved.to_string();
    assert!(plan.contains("- rule[seq=10] (ingress)\n"), "{plan}");
    assert!(plan.contains("+ rule[seq=10] (outbound)\n"), "{plan}");
    let fields: Vec<_> = moved.entries().iter().map(|entry| entry.field).collect();
    assert_eq!(fields, [None, Some("ingress"), Some("outbound")]);
    // In a created or deleted subtree too; the rule's own single field is not named.
    let mut noted = rule(1, "deny");
    noted.notes.insert(Note { text: "why".into() }).unwrap();
    let replaced = before
        .diff(&firewall("fw2", &[noted], &[rule(3, "deny")]))
        .unwrap();
    let plan = replaced.to_string();
    for line in [
        "- firewall[name=fw]\n",
        "  - rule[seq=10] (ingress)\n",
        "+ firewall[name=fw2]\n",
        "  + rule[seq=1] (ingress)\n",
        "    + note[text=why]\n",
        "  + rule[seq=3] (outbound)\n",
    ] {
        assert!(plan.contains(line), "{line:?} not in\n{plan}");
    }
}

/// The outcome lines of a report, sorted.
fn lines(report: &statesync::sync::SyncReport) -> Vec<String> {
    let mut lines: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

/// Report outcomes name the field as plans do: a rule moved from one field to the other
/// read `create firewall[name=fw] > rule[seq=10]: applied` and `delete` of the same line.
/// Outcomes recorded without a hook (the subtree of a failed create) name it too.
#[test]
fn outcomes_name_the_field_where_two_fields_hold_one_model() {
    let before = firewall("fw", &[rule(10, "deny")], &[]);
    let after = firewall("fw", &[], &[rule(10, "deny")]);
    let expected = [
        "create firewall[name=fw] > rule[seq=10] (outbound): applied",
        "delete firewall[name=fw] > rule[seq=10] (ingress): applied",
    ];
    let mut memory = before.clone();
    let report = memory
        .sync_from(&after, &mut Calls::default(), SyncOptions::default())
        .unwrap();
    assert_eq!(lines(&report), expected);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut memory = before.clone();
    let report = runtime
        .block_on(memory.sync_from_async(&after, &Calls::default(), AsyncSyncOptions::default()))
        .unwrap();
    assert_eq!(lines(&report), expected);
    let single = report.outcomes.iter().map(|outcome| outcome.field);
    assert!(single.clone().all(|field| field.is_some()));

    // A failed create of the firewall: its rules are skipped, named by field; the notes
    // of a rule (its only children field) are not named.
    struct Refuse;
    impl Adapter for Refuse {}
    impl Hooks<Firewall> for Refuse {
        fn create(&mut self, _: &Firewall, _: &Parents) -> Result<(), HookError> {
            Err("no".into())
        }
    }
    impl Hooks<Rule> for Refuse {}
    impl Hooks<Note> for Refuse {}
    let mut noted = rule(1, "deny");
    noted.notes.insert(Note { text: "why".into() }).unwrap();
    let mut memory = before.clone();
    let options = SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE);
    let report = memory
        .sync_from(
            &firewall("fw2", &[noted], &[rule(3, "deny")]),
            &mut Refuse,
            options,
        )
        .unwrap();
    let lines = lines(&report);
    for line in [
        "create firewall[name=fw2] > rule[seq=1] (ingress): skipped: its parent failed",
        "create firewall[name=fw2] > rule[seq=3] (outbound): skipped: its parent failed",
        "create firewall[name=fw2] > rule[seq=1] (ingress) > note[text=why]: skipped: its parent failed",
    ] {
        assert!(
            lines.iter().any(|l| l == line),
            "{line:?} not in {lines:#?}"
        );
    }
}

/// Records each note created: its text, `Parents::field_of::<Firewall>()`,
/// `Parents::fields()` and the parents as printed.
#[derive(Default)]
struct NoteCalls(Mutex<Vec<String>>);

impl NoteCalls {
    fn note(&self, note: &Note, parents: &Parents) {
        let fields: Vec<&str> = parents.fields().collect();
        let line = format!(
            "{} {:?} {fields:?} {parents}",
            note.text,
            parents.field_of::<Firewall>()
        );
        self.0.lock().unwrap().push(line);
    }
}

impl Adapter for NoteCalls {}
impl Hooks<Firewall> for NoteCalls {}
impl Hooks<Rule> for NoteCalls {}
impl Hooks<Note> for NoteCalls {
    fn create(&mut self, note: &Note, parents: &Parents) -> Result<(), HookError> {
        self.note(note, parents);
        Ok(())
    }
}
impl AsyncAdapter for NoteCalls {}
impl AsyncHooks<Firewall> for NoteCalls {}
impl AsyncHooks<Rule> for NoteCalls {}
impl AsyncHooks<Note> for NoteCalls {
    async fn create(&self, note: &Note, parents: &Parents) -> Result<(), HookError> {
        self.note(note, parents);
        Ok(())
    }
}

/// A grandchild under two fields of one model: a note of rule 1 in `ingress` and one of
/// rule 1 in `outbound` are told apart by their hooks (`Parents::field_of`,
/// `Parents::fields`, the printed parents) and by the report's lines, in both engines (an
/// outside tester's case: both got the same parents and the same line before).
#[test]
fn grandchildren_of_two_fields_of_one_model_are_told_apart() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut noted = rule(1, "deny");
    noted.notes.insert(Note { text: "n".into() }).unwrap();
    let plain = [rule(1, "deny")];
    let before = firewall("fw", &plain, &plain);
    let cases = [
        (firewall("fw", &[noted.clone()], &plain), "ingress"),
        (firewall("fw", &plain, &[noted]), "outbound"),
    ];
    for (source, field) in cases {
        let hooked = format!(
            "n Some({field:?}) [{field:?}, \"notes\"] firewall[name=fw] > rule[seq=1] ({field})"
        );
        let line =
            format!("create firewall[name=fw] > rule[seq=1] ({field}) > note[text=n]: applied");
        let mut calls = NoteCalls::default();
        let mut memory = before.clone();
        let report = memory
            .sync_from(&source, &mut calls, SyncOptions::default())
            .unwrap();
        assert_eq!(*calls.0.lock().unwrap(), std::slice::from_ref(&hooked));
        assert_eq!(lines(&report), std::slice::from_ref(&line));
        let calls = NoteCalls::default();
        let mut memory = before.clone();
        let report = runtime
            .block_on(memory.sync_from_async(&source, &calls, AsyncSyncOptions::default()))
            .unwrap();
        assert_eq!(*calls.0.lock().unwrap(), [hooked]);
        assert_eq!(lines(&report), [line]);
        assert_eq!(memory, source);
    }
}
