//! Wire enums. Every enum keeps values it does not know in an `Unknown(String)` variant, so a
//! response from a newer server still deserializes.

use std::fmt;

/// The error of `FromStr` on a wire enum: the text is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}` (expected one of: {expected})")]
pub struct UnknownVariant {
    /// Which enum was parsed (for example `job type`).
    pub kind: &'static str,
    /// The text that was not recognised.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: String,
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know (sent by a newer peer).
            Unknown(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The wire form of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Maps a wire value to the enum; unknown text becomes `Unknown`.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }

            /// True for the `Unknown` variant.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }

            /// The accepted wire values, comma separated (for error messages).
            pub fn expected() -> String {
                [ $( $wire ),+ ].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownVariant;

            /// Parses a known value; unknown text is an error (use `from_wire` to keep it).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match $name::from_wire(s) {
                    $name::Unknown(value) => Err(UnknownVariant {
                        kind: $kind,
                        value,
                        expected: $name::expected(),
                    }),
                    known => Ok(known),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from_wire(&s))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([ $( $wire ),+ ]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

wire_enum! {
    /// Status of a worker (Tendril), computed by Trellis from its last heartbeat.
    WorkerStatus, "worker status" {
        /// Heartbeat within the offline window; gets jobs.
        Online => "ONLINE",
        /// Finishing its current job; gets no new job.
        Draining => "DRAINING",
        /// No heartbeat within the offline window (or said so itself).
        Offline => "OFFLINE",
    }
}

wire_enum! {
    /// Status of a job.
    JobStatus, "job status" {
        /// Waiting for a worker.
        Queued => "QUEUED",
        /// Handed to a worker that has not started it yet.
        Claimed => "CLAIMED",
        /// Being run by its worker.
        Running => "RUNNING",
        /// Finished well (terminal).
        Success => "SUCCESS",
        /// Finished badly (terminal).
        Failed => "FAILED",
        /// Cancelled by the user (terminal).
        Cancelled => "CANCELLED",
    }
}

impl JobStatus {
    /// True for SUCCESS, FAILED and CANCELLED: nothing changes the job any more.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// Whether the worker holding a job may move it from `self` to `to`.
    ///
    /// CLAIMED → RUNNING | SUCCESS | FAILED | CANCELLED; RUNNING → SUCCESS | FAILED | CANCELLED.
    /// Repeating the current status is handled by the server as an idempotent no-op and is not
    /// a transition.
    pub fn can_transition_to(&self, to: &JobStatus) -> bool {
        use JobStatus::{Cancelled, Claimed, Failed, Running, Success};
        matches!(
            (self, to),
            (Claimed, Running | Success | Failed | Cancelled)
                | (Running, Success | Failed | Cancelled)
        )
    }
}

wire_enum! {
    /// What a job does.
    JobType, "job type" {
        /// `terraform plan`.
        Plan => "PLAN",
        /// `terraform apply` (of the plan named by `payload.plan_job_id`, if any).
        Apply => "APPLY",
        /// `terraform destroy`.
        Destroy => "DESTROY",
        /// Install ArgoCD and the platform's Applications into an existing cluster of a vine.
        Bootstrap => "BOOTSTRAP",
        /// Provision a new cloud-hosted Tendril.
        DeployWorker => "DEPLOY_WORKER",
        /// Move a Tendril to the latest release.
        UpdateWorker => "UPDATE_WORKER",
        /// Tear a Tendril down.
        DestroyWorker => "DESTROY_WORKER",
        /// Validate a cloud identity and discover resources.
        ConnectionTest => "CONNECTION_TEST",
        /// Refresh the discovered resources of a cloud identity.
        FetchResources => "FETCH_RESOURCES",
        /// Run a command.
        Exec => "EXEC",
    }
}

wire_enum! {
    /// Which stream a log line came from (lower case on the wire).
    LogStream, "log stream" {
        /// Standard output of the job's process.
        Stdout => "stdout",
        /// Standard error of the job's process.
        Stderr => "stderr",
        /// A message of the worker itself.
        System => "system",
    }
}

wire_enum! {
    /// How a worker is hosted.
    WorkerMode, "worker mode" {
        /// Run by the platform (ECS Fargate).
        CloudHosted => "cloud-hosted",
        /// Run by the user.
        SelfHosted => "self-hosted",
    }
}

wire_enum! {
    /// The role of a per-user API token (lower case on the wire).
    TokenRole, "token role" {
        /// Every user endpoint, for the token's team only.
        User => "user",
        /// Everything, for every team.
        Admin => "admin",
    }
}

wire_enum! {
    /// Cloud provider of a cloud identity (lower case on the wire).
    CloudProvider, "cloud provider" {
        /// Amazon Web Services.
        Aws => "aws",
        /// Google Cloud.
        Gcp => "gcp",
        /// Microsoft Azure.
        Azure => "azure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_survive() {
        let s: JobStatus = serde_json::from_str("\"PAUSED\"").unwrap();
        assert_eq!(s, JobStatus::Unknown("PAUSED".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"PAUSED\"");
        let t: JobType = serde_json::from_str("\"CONNECTION_TEST\"").unwrap();
        assert_eq!(t, JobType::ConnectionTest);
        assert!("nope".parse::<JobType>().is_err());
        assert_eq!("stderr".parse::<LogStream>().unwrap(), LogStream::Stderr);
        assert_eq!(WorkerMode::CloudHosted.to_string(), "cloud-hosted");
    }

    #[test]
    fn transitions() {
        assert!(JobStatus::Claimed.can_transition_to(&JobStatus::Running));
        assert!(!JobStatus::Success.can_transition_to(&JobStatus::Running));
        assert!(!JobStatus::Queued.can_transition_to(&JobStatus::Running));
    }
}
