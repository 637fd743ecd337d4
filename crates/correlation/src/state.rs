//! A [`CorrelationEngine`]'s buffered records as plain data, so a partition
//! run in another process (a Ballista executor) can hand its correlation
//! state to the process that gathers and finishes it.
//!
//! The state carries its strings (group keys, values, origins), not ids:
//! ids are local to the engine that interned them. [`CorrelationEngine::merge_state`]
//! checks every index before use, so a state that does not fit the
//! receiving engine's correlations is refused whole, never half-merged.

use crate::engine::{CorrState, CorrelationEngine, Origin, Rec, Stats};
use crate::rule::CorrelationType;
use kahu_event::Location;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The records of one engine, for [`CorrelationEngine::merge_state`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EngineState {
    stats: Stats,
    origins: Vec<OriginState>,
    corrs: Vec<CorrStateData>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OriginState {
    file: Arc<str>,
    member: Option<Arc<str>>,
    host: Option<Arc<str>>,
    channel: Option<Arc<str>>,
    event_id: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CorrStateData {
    keys: Vec<String>,
    values: Vec<String>,
    recs: Vec<RecState>,
    carry: Vec<Vec<Option<Arc<str>>>>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct RecState {
    ts: i64,
    val: u64,
    loc: Location,
    key: u32,
    origin: u32,
    carry: u32,
    slot: u16,
}

/// Why a state was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("correlation state does not fit this rule set: {0}")]
pub struct StateError(String);

impl CorrelationEngine {
    /// This engine's records and counters as plain data.
    pub fn into_state(self) -> EngineState {
        let corrs = self
            .states
            .into_iter()
            .map(|st| CorrStateData {
                keys: st.keys.items().map(str::to_string).collect(),
                values: st.values.items().map(str::to_string).collect(),
                recs: st
                    .recs
                    .iter()
                    .map(|r| RecState {
                        ts: r.ts,
                        val: r.val,
                        loc: r.loc,
                        key: r.key,
                        origin: r.origin,
                        carry: r.carry,
                        slot: r.slot,
                    })
                    .collect(),
                carry: st.carry.into_iter().map(Vec::from).collect(),
            })
            .collect();
        EngineState {
            stats: self.stats,
            origins: self
                .origins
                .into_iter()
                .map(|o| OriginState {
                    file: o.file,
                    member: o.member,
                    host: o.host,
                    channel: o.channel,
                    event_id: o.event_id,
                })
                .collect(),
            corrs,
        }
    }

    /// Fold a state exported by an engine of the same rule set (compiled
    /// from the same rules elsewhere) into this one, as [`merge`](Self::merge)
    /// does with an engine. Caps apply to the merged total. A state with
    /// another number of correlations, or an index out of range, is
    /// refused and nothing of it is merged.
    pub fn merge_state(&mut self, state: EngineState) -> Result<(), StateError> {
        if state.corrs.len() != self.states.len() {
            return Err(StateError(format!(
                "{} correlations in the state, {} here",
                state.corrs.len(),
                self.states.len()
            )));
        }
        let mut other = CorrelationEngine::new(self.bound.clone(), self.limits);
        other.stats = state.stats;
        let n_origins = state.origins.len();
        other.origins = state
            .origins
            .into_iter()
            .map(|o| Origin {
                file: o.file,
                member: o.member,
                host: o.host,
                channel: o.channel,
                event_id: o.event_id,
            })
            .collect();
        let mut states = Vec::with_capacity(state.corrs.len());
        for (c, st) in state.corrs.into_iter().enumerate() {
            let b = &self.bound.inner.corrs[c];
            let slots = b.sources.len();
            let interned = !b.def.kind.numeric()
                && matches!(
                    b.def.kind,
                    CorrelationType::ValueCount | CorrelationType::ValuePercentile
                );
            let bad = || {
                StateError(format!(
                    "a record of correlation {c} points outside the state"
                ))
            };
            let mut s = CorrState::default();
            // Interned in order into empty interners, the ids must be the
            // positions the records point at (a repeated string would not be).
            for (i, k) in st.keys.iter().enumerate() {
                if s.keys.intern(k, usize::MAX) != Some(i as u32) {
                    return Err(StateError(format!(
                        "correlation {c}: group key {i} repeated"
                    )));
                }
            }
            for (i, v) in st.values.iter().enumerate() {
                if s.values.intern(v, usize::MAX) != Some(i as u32) {
                    return Err(StateError(format!("correlation {c}: value {i} repeated")));
                }
            }
            for r in &st.recs {
                if (r.key as usize) >= st.keys.len()
                    || (r.origin as usize) >= n_origins
                    || (r.carry != u32::MAX && (r.carry as usize) >= st.carry.len())
                    || (r.slot as usize) >= slots
                    || (interned && r.val >= st.values.len() as u64)
                {
                    return Err(bad());
                }
            }
            s.carry = st.carry.into_iter().map(Vec::into_boxed_slice).collect();
            s.recs = st
                .recs
                .into_iter()
                .map(|r| Rec {
                    ts: r.ts,
                    val: r.val,
                    loc: r.loc,
                    key: r.key,
                    origin: r.origin,
                    carry: r.carry,
                    slot: r.slot,
                })
                .collect();
            states.push(s);
        }
        other.states = states;
        other.total = other.states.iter().map(|s| s.recs.len()).sum();
        self.merge(other);
        Ok(())
    }
}
