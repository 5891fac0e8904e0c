//! CEL rules for quantity fields of the compute kinds (sizes and memory).

/// A quantity (int or string) as a CEL `quantity`.
macro_rules! q {
    ($x:literal) => {
        concat!("(type(", $x, ") == int ? quantity(string(", $x, ")) : quantity(", $x, "))")
    };
}

/// True when the value is an int or a well-formed quantity string.
macro_rules! valid {
    ($x:literal) => {
        concat!("(type(", $x, ") == int || isQuantity(", $x, "))")
    };
}

/// A disk size: a quantity of at least 1Mi.
pub const SIZE: &str = concat!(valid!("self"), " && ", q!("self"), ".compareTo(quantity('1Mi')) >= 0");
/// The message of [`SIZE`].
pub const SIZE_MESSAGE: &str = "must be a Kubernetes quantity of at least 1Mi, such as 20Gi or 512Mi";
/// A well-formed quantity: the cheap rule for sizes inside lists, where the API
/// server's cost budget leaves no room for comparisons.
pub const QUANTITY: &str = valid!("self");
/// Memory of a virtual machine: a quantity of at least 64Mi.
pub const MEMORY: &str = concat!(valid!("self"), " && ", q!("self"), ".compareTo(quantity('64Mi')) >= 0");
/// The message of [`MEMORY`].
pub const MEMORY_MESSAGE: &str = "must be a Kubernetes quantity of at least 64Mi, such as 4Gi";
/// A size may grow but never shrink (a transition rule: checked on updates only).
pub const NO_SHRINK: &str = concat!(
    "!(",
    valid!("self"),
    " && ",
    valid!("oldSelf"),
    ") || ",
    q!("self"),
    ".compareTo(",
    q!("oldSelf"),
    ") >= 0"
);
/// The message of [`NO_SHRINK`].
pub const NO_SHRINK_MESSAGE: &str = "a volume can grow but not shrink: shrinking would destroy the data at its end; create a smaller volume and copy the data instead";
