//! MITRE ATT&CK knowledge base, actor profiles and explained attribution.
//!
//! Start with [`KnowledgeBase::embedded`] (ATT&CK Enterprise v18.1 compiled
//! into the binary) or [`KnowledgeBase::from_stix_bundle`] for a newer
//! release, collect a [`CaseEvidence`], then call [`Attribution::rank`].

pub mod attribution;
mod dispute;
pub mod enrichment;
pub mod eval;
pub mod eval_metrics;
pub mod eval_report;
pub mod evidence;
pub mod facts;
/// Entry point of the fuzz target and its corpus-replay test.
#[doc(hidden)]
pub mod fuzzing;
pub mod kb;
pub mod layer;
pub mod likelihood;
pub mod navigator;
pub mod profile;
mod profile_score;
pub mod quality;
pub mod ranker;
mod ranker_error;
pub mod ranker_fit;
pub mod score;
pub mod stix;
pub mod view;

pub use attribution::{
    Attribution, Candidate, EvidenceItem, EvidenceKind, HuntItem, Outcome, RankOptions,
};
pub use evidence::CaseEvidence;
pub use facts::{actor_profiles, add_analyst_profile};
pub use kb::{
    Campaign, CompiledKb, Group, KbError, KnowledgeBase, RelKind, Relation, Software, Technique,
};
pub use likelihood::{Confidence, ConfidenceLevel, Likelihood};
pub use navigator::{
    LayerError, ObservedTechnique, case_layer, navigator_layer, navigator_layer_in,
    techniques_from_layer,
};
pub use profile::{
    ActorProfile, ProfileError, ProfileProblem, embedded_profiles, item_reliability,
};
pub use score::{Attributor, Exclusions, Params};
pub use view::{AttackVersion, AttackView, ShownTechnique, ViewError};
