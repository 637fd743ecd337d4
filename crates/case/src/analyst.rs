//! Analyst state: JSON documents (incidents, scope, attribution…), notes,
//! verdicts, disputed evidence, and the audit trail every change writes in
//! the same transaction.

use crate::{Case, Error, Result, now};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Longest note, rationale or reason accepted.
const MAX_TEXT: usize = 64 * 1024;

/// A versioned JSON document stored by kind (`attribution`, `incidents`,
/// `scope`, `attack-tactics`…). The newest of a kind is current; older
/// ones stay as history.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Schema version of the body, chosen by the writer.
    pub version: u32,
    /// The document.
    pub body: serde_json::Value,
    /// When stored.
    pub created_at: String,
    /// Who stored it (`kahu` for the engine).
    pub author: String,
}

/// An analyst note on anything (`event`/`42`, `candidate`/`G0065`…).
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    /// Row id.
    pub id: i64,
    /// What kind of thing it is about.
    pub target_kind: String,
    /// Which one.
    pub target_id: String,
    /// Text.
    pub body: String,
    /// Who.
    pub author: String,
    /// When.
    pub created_at: String,
}

/// Agree or disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// The analyst agrees with the engine.
    Agree,
    /// The analyst disagrees.
    Disagree,
}

impl VerdictKind {
    fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Agree => "agree",
            VerdictKind::Disagree => "disagree",
        }
    }
}

/// An analyst's verdict on a conclusion (an attribution candidate, an
/// incident…). History is kept; the newest per author counts.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Row id.
    pub id: i64,
    /// Kind of target (`candidate`).
    pub target_kind: String,
    /// Target (`G0065`).
    pub target_id: String,
    /// Agree or disagree.
    pub verdict: VerdictKind,
    /// Why.
    pub rationale: String,
    /// Who.
    pub author: String,
    /// When.
    pub created_at: String,
}

/// Evidence the analyst disputes (a finding, an event, an evidence item of
/// an attribution candidate); attribution can be recomputed without it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DisputedEvidence {
    /// Row id.
    pub id: i64,
    /// Kind of target (`finding`, `event`, `evidence`, `technique`).
    pub target_kind: String,
    /// Target id as the attribution document names it.
    pub target_id: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub author: String,
    /// When.
    pub created_at: String,
    /// When withdrawn, if it was.
    pub withdrawn_at: Option<String>,
}

/// One change in the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: String,
    /// Who.
    pub who: String,
    /// What (`note.add`, `verdict.set`, `dispute.add`, `document.set`…).
    pub action: String,
    /// On what (`candidate/G0065`).
    pub target: String,
    /// State before, if any.
    pub before: Option<serde_json::Value>,
    /// State after.
    pub after: Option<serde_json::Value>,
}

fn check_text(what: &str, s: &str, allow_empty: bool) -> Result<()> {
    if !allow_empty && s.trim().is_empty() {
        return Err(Error::Invalid(format!("{what} must not be empty")));
    }
    if s.len() > MAX_TEXT {
        return Err(Error::Invalid(format!(
            "{what} is longer than {MAX_TEXT} bytes"
        )));
    }
    Ok(())
}

fn check_author(a: &str) -> Result<String> {
    let a = a.trim();
    if a.is_empty() || a.len() > 128 || a.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "analyst name must be 1-128 printable characters".into(),
        ));
    }
    Ok(a.to_string())
}

fn check_target(kind: &str, id: &str) -> Result<()> {
    if kind.is_empty() || kind.len() > 64 || id.is_empty() || id.len() > 512 {
        return Err(Error::Invalid(
            "target kind (1-64) and id (1-512 bytes) are required".into(),
        ));
    }
    Ok(())
}

fn audit(
    tx: &rusqlite::Connection,
    who: &str,
    action: &str,
    target: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO audit(at, who, action, target, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            now(),
            who,
            action,
            target,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string())
        ],
    )?;
    Ok(())
}

fn insert_document(
    conn: &rusqlite::Connection,
    kind: &str,
    version: u32,
    body: &serde_json::Value,
    author: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO documents(kind, version, body, created_at, author) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind, version, body.to_string(), now(), author],
    )?;
    let id = conn.last_insert_rowid();
    // The body can be megabytes: audit the fact, not a copy.
    let after = serde_json::json!({"document_id": id, "version": version});
    audit(
        conn,
        author,
        "document.set",
        &format!("document/{kind}"),
        None,
        Some(&after),
    )?;
    Ok(id)
}

impl Case {
    /// Store a new version of a document; the previous one stays as history.
    pub fn set_document(
        &mut self,
        kind: &str,
        version: u32,
        body: &serde_json::Value,
        author: &str,
    ) -> Result<i64> {
        let author = check_author(author)?;
        check_target(kind, "-")?;
        let tx = self.write_tx()?;
        let id = insert_document(&tx, kind, version, body, &author)?;
        tx.commit()?;
        Ok(id)
    }

    /// Store a new version of a document computed from the case as it
    /// stands, in one write transaction held from the read to the store:
    /// no other writer (another dispute, another process) can change what
    /// `compute` read before its result is stored, so concurrent changes
    /// never lose an update. `compute` gets the case and the current
    /// document and returns the version and body to store.
    pub fn update_document(
        &mut self,
        kind: &str,
        author: &str,
        compute: impl FnOnce(&Case, Option<&Document>) -> Result<(u32, serde_json::Value)>,
    ) -> Result<i64> {
        let author = check_author(author)?;
        check_target(kind, "-")?;
        // `compute` reads through `&Case`, so the transaction is begun on
        // the connection rather than held as a `Transaction` borrow.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            let current = self.document(kind)?;
            let (version, body) = compute(self, current.as_ref())?;
            insert_document(&self.conn, kind, version, &body, &author)
        })();
        match result {
            Ok(id) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(id)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// The current document of a kind.
    pub fn document(&self, kind: &str) -> Result<Option<Document>> {
        self.conn
            .prepare_cached(
                "SELECT id, kind, version, body, created_at, author FROM documents WHERE kind = ?1 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([kind], |r| {
                Ok(Document {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    version: r.get(2)?,
                    body: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                    created_at: r.get(4)?,
                    author: r.get(5)?,
                })
            })
            .optional()
            .map_err(Into::into)
    }

    /// Add a note.
    pub fn add_note(
        &mut self,
        target_kind: &str,
        target_id: &str,
        body: &str,
        author: &str,
    ) -> Result<Note> {
        let author = check_author(author)?;
        check_target(target_kind, target_id)?;
        check_text("note", body, false)?;
        let tx = self.write_tx()?;
        let created_at = now();
        tx.execute(
            "INSERT INTO notes(target_kind, target_id, body, author, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![target_kind, target_id, body, author, created_at],
        )?;
        let note = Note {
            id: tx.last_insert_rowid(),
            target_kind: target_kind.into(),
            target_id: target_id.into(),
            body: body.into(),
            author: author.clone(),
            created_at,
        };
        audit(
            &tx,
            &author,
            "note.add",
            &format!("{target_kind}/{target_id}"),
            None,
            Some(&serde_json::to_value(&note)?),
        )?;
        tx.commit()?;
        Ok(note)
    }

    /// Notes, newest first; on one target when given.
    pub fn notes(&self, target: Option<(&str, &str)>) -> Result<Vec<Note>> {
        let (k, i) = target.unwrap_or(("", ""));
        let mut st = self.conn.prepare_cached(
            "SELECT id, target_kind, target_id, body, author, created_at FROM notes
             WHERE (?1 = '' OR (target_kind = ?1 AND target_id = ?2)) ORDER BY id DESC LIMIT 10000",
        )?;
        let rows = st.query_map(params![k, i], |r| {
            Ok(Note {
                id: r.get(0)?,
                target_kind: r.get(1)?,
                target_id: r.get(2)?,
                body: r.get(3)?,
                author: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Record a verdict; the author's previous verdict on the target is the
    /// audit's "before".
    pub fn set_verdict(
        &mut self,
        target_kind: &str,
        target_id: &str,
        verdict: VerdictKind,
        rationale: &str,
        author: &str,
    ) -> Result<Verdict> {
        let author = check_author(author)?;
        check_target(target_kind, target_id)?;
        check_text("rationale", rationale, false)?;
        let before = self
            .verdicts(Some((target_kind, target_id)))?
            .into_iter()
            .find(|v| v.author == author);
        let tx = self.write_tx()?;
        let created_at = now();
        tx.execute(
            "INSERT INTO verdicts(target_kind, target_id, verdict, rationale, author, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![target_kind, target_id, verdict.as_str(), rationale, author, created_at],
        )?;
        let v = Verdict {
            id: tx.last_insert_rowid(),
            target_kind: target_kind.into(),
            target_id: target_id.into(),
            verdict,
            rationale: rationale.into(),
            author: author.clone(),
            created_at,
        };
        let before = before.map(serde_json::to_value).transpose()?;
        audit(
            &tx,
            &author,
            "verdict.set",
            &format!("{target_kind}/{target_id}"),
            before.as_ref(),
            Some(&serde_json::to_value(&v)?),
        )?;
        tx.commit()?;
        Ok(v)
    }

    /// Verdicts, newest first; on one target when given.
    pub fn verdicts(&self, target: Option<(&str, &str)>) -> Result<Vec<Verdict>> {
        let (k, i) = target.unwrap_or(("", ""));
        let mut st = self.conn.prepare_cached(
            "SELECT id, target_kind, target_id, verdict, rationale, author, created_at FROM verdicts
             WHERE (?1 = '' OR (target_kind = ?1 AND target_id = ?2)) ORDER BY id DESC LIMIT 10000",
        )?;
        let rows = st.query_map(params![k, i], |r| {
            let v: String = r.get(3)?;
            Ok(Verdict {
                id: r.get(0)?,
                target_kind: r.get(1)?,
                target_id: r.get(2)?,
                verdict: if v == "agree" {
                    VerdictKind::Agree
                } else {
                    VerdictKind::Disagree
                },
                rationale: r.get(4)?,
                author: r.get(5)?,
                created_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Mark evidence as disputed.
    pub fn add_dispute(
        &mut self,
        target_kind: &str,
        target_id: &str,
        reason: &str,
        author: &str,
    ) -> Result<DisputedEvidence> {
        let author = check_author(author)?;
        check_target(target_kind, target_id)?;
        check_text("reason", reason, true)?;
        let tx = self.write_tx()?;
        let created_at = now();
        tx.execute(
            "INSERT INTO disputes(target_kind, target_id, reason, author, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![target_kind, target_id, reason, author, created_at],
        )?;
        let d = DisputedEvidence {
            id: tx.last_insert_rowid(),
            target_kind: target_kind.into(),
            target_id: target_id.into(),
            reason: reason.into(),
            author: author.clone(),
            created_at,
            withdrawn_at: None,
        };
        audit(
            &tx,
            &author,
            "dispute.add",
            &format!("{target_kind}/{target_id}"),
            None,
            Some(&serde_json::to_value(&d)?),
        )?;
        tx.commit()?;
        Ok(d)
    }

    /// Withdraw a dispute (kept, marked withdrawn).
    pub fn withdraw_dispute(&mut self, id: i64, author: &str) -> Result<DisputedEvidence> {
        let author = check_author(author)?;
        let before = self
            .disputes(false)?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| Error::Invalid(format!("no dispute {id}")))?;
        if before.withdrawn_at.is_some() {
            return Err(Error::Invalid(format!("dispute {id} is already withdrawn")));
        }
        let tx = self.write_tx()?;
        let at = now();
        tx.execute(
            "UPDATE disputes SET withdrawn_at = ?2 WHERE id = ?1",
            params![id, at],
        )?;
        let mut after = before.clone();
        after.withdrawn_at = Some(at);
        audit(
            &tx,
            &author,
            "dispute.withdraw",
            &format!("{}/{}", before.target_kind, before.target_id),
            Some(&serde_json::to_value(&before)?),
            Some(&serde_json::to_value(&after)?),
        )?;
        tx.commit()?;
        Ok(after)
    }

    /// Disputes, oldest first; only those not withdrawn when `active_only`.
    pub fn disputes(&self, active_only: bool) -> Result<Vec<DisputedEvidence>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, target_kind, target_id, reason, author, created_at, withdrawn_at FROM disputes
             WHERE (?1 = 0 OR withdrawn_at IS NULL) ORDER BY id LIMIT 100000",
        )?;
        let rows = st.query_map([active_only as i64], |r| {
            Ok(DisputedEvidence {
                id: r.get(0)?,
                target_kind: r.get(1)?,
                target_id: r.get(2)?,
                reason: r.get(3)?,
                author: r.get(4)?,
                created_at: r.get(5)?,
                withdrawn_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The audit trail, newest first, at most `limit` entries.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, at, who, action, target, before, after FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        let rows = st.query_map([limit.min(100_000) as i64], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                who: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                before: parse(r.get(5)?),
                after: parse(r.get(6)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
