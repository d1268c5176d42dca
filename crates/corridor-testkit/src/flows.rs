//! A consignment taken along its route as the tests drive it: submitted at the first
//! country, then through each country (arrival with every seal intact, an officer's release
//! where the lane calls for one, exit and handover) to completion.

use corridor_proto::v1::{self, ConsignmentState as S, Lane, Outcome};

use super::{Consignment, Sandbox};

impl Sandbox {
    /// Submits consignment `c` at the first country of its route.
    pub async fn submit(&self, c: &Consignment) -> Result<v1::StepReceipt, tonic::Status> {
        self.node(&c.route[0])
            .await
            .submit_declaration(c.request.clone())
            .await
            .map(|r| r.into_inner())
    }

    /// Takes consignment `c` through country `code`: arrival with every seal intact, an
    /// officer's release when its lane calls for one, then exit (waited for until the next
    /// node has acknowledged the advance record) unless `code` is the last country. Returns
    /// the lane.
    pub async fn pass(&self, c: &Consignment, code: &str) -> Lane {
        let last = c.route.last().map(String::as_str) == Some(code);
        let done = if last { S::Completed } else { S::Released };
        let r = self
            .arrive(code, &c.id, c.seals.clone())
            .await
            .unwrap_or_else(|e| panic!("arrival at {code}: {e}"));
        let lane = r.lane();
        match lane {
            Lane::Green | Lane::Blue => assert_eq!(r.state(), done, "at {code}"),
            Lane::Yellow | Lane::Red => {
                assert_eq!(r.state(), S::AwaitingOfficer, "at {code}");
                let d = self
                    .decide(code, &c.id, Outcome::Release, "documents in order")
                    .await
                    .unwrap_or_else(|e| panic!("release at {code}: {e}"));
                assert_eq!((d.state(), d.lane()), (done, lane), "at {code}");
            }
            Lane::Unspecified => panic!("consignment {} arrived unassessed at {code}", c.id),
        }
        if !last {
            let r = self
                .exit(code, &c.id)
                .await
                .unwrap_or_else(|e| panic!("exit at {code}: {e}"));
            assert_eq!(r.state(), S::Exited, "at {code}");
            self.wait_for(code, &c.id, S::HandedOver).await;
        }
        lane
    }

    /// Takes consignment `c` through every country of its route, checking that the last
    /// node completes it with each country's lane; returns the lanes.
    pub async fn clear(&self, c: &Consignment) -> Vec<Lane> {
        let mut lanes = Vec::new();
        for code in &c.route {
            lanes.push(self.pass(c, code).await);
        }
        let v = self.view(&c.route[c.route.len() - 1], &c.id).await;
        assert_eq!(v.state(), S::Completed);
        assert!(v.guarantee_discharged);
        let cleared: Vec<(&str, Lane)> = v
            .clearances
            .iter()
            .map(|x| (x.country.as_str(), x.lane()))
            .collect();
        let expected: Vec<(&str, Lane)> = c
            .route
            .iter()
            .map(String::as_str)
            .zip(lanes.clone())
            .collect();
        assert_eq!(cleared, expected);
        lanes
    }
}
