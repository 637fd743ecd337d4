//! Why a ranker weight file was refused ([`crate::RankerWeights::from_json`]).
//! Its own module so the ranker's code and this type change apart.

use crate::ranker::{FEATURES, UNKNOWN_FEATURES, WEIGHTS_FORMAT};

/// Why a ranker weight file was refused.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// Not JSON of the weight file's shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Another format tag (the file is for another ranker version).
    #[error("format {0:?}, expected {WEIGHTS_FORMAT:?}")]
    Format(String),
    /// The ranker's features (names or count) differ from this build's.
    #[error("features {0:?} do not match this build's {FEATURES:?}")]
    Features(Vec<String>),
    /// The "unknown" alternative's features differ from this build's.
    #[error("unknown features {0:?} do not match this build's {UNKNOWN_FEATURES:?}")]
    UnknownFeatures(Vec<String>),
    /// A weight is NaN or infinite.
    #[error("non-finite weight")]
    NonFinite,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranker::RankerWeights;

    fn shipped() -> serde_json::Value {
        serde_json::from_str(include_str!("../data/ranker-weights.json")).expect("shipped JSON")
    }

    #[test]
    fn each_refusal_says_what_is_wrong() {
        let mut v = shipped();
        v["format"] = "kahu-ranker-weights/1".into();
        let e = RankerWeights::from_json(&v.to_string()).expect_err("old format");
        assert!(matches!(&e, WeightsError::Format(f) if f == "kahu-ranker-weights/1"));
        assert_eq!(
            e.to_string(),
            format!("format \"kahu-ranker-weights/1\", expected {WEIGHTS_FORMAT:?}")
        );

        let mut v = shipped();
        v["features"][0] = "renamed".into();
        let e = RankerWeights::from_json(&v.to_string()).expect_err("renamed feature");
        assert!(matches!(&e, WeightsError::Features(f) if f[0] == "renamed"));

        let mut v = shipped();
        v["unknown_features"] = serde_json::json!([]);
        let e = RankerWeights::from_json(&v.to_string()).expect_err("no unknown features");
        assert!(matches!(&e, WeightsError::UnknownFeatures(f) if f.is_empty()));

        let e = RankerWeights::from_json("{").expect_err("not JSON");
        assert!(matches!(e, WeightsError::Json(_)));
    }
}
